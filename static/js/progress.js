/* Progress bar of a background job: an import batch (templates/staff/imports_detail.html)
 * or a policy what-if (templates/staff/whatif_detail.html).
 * Polls the job's JSON status endpoint (the box's data-status-url) and reloads the page
 * when the job has finished, so the server renders its result. No inline script: the CSP
 * allows scripts from 'self' only. */
(function () {
  "use strict";
  var box = document.querySelector("[data-status-url]");
  if (!box) {
    return;
  }
  var url = box.getAttribute("data-status-url");
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-progress-text]");
  var label = document.querySelector("[data-status-label]");
  var delay = 1000;
  var failures = 0;

  function show(data) {
    var percent = Math.max(0, Math.min(100, Number(data.progress) || 0));
    bar.value = percent;
    bar.textContent = percent + "%";
    text.textContent = percent + "%";
    if (label && data.status_label) {
      label.textContent = data.status_label;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        show(data);
        if (data.finished) {
          window.location.reload();
          return;
        }
        delay = Math.min(delay * 1.3, 5000);
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        failures += 1;
        if (failures >= 5) {
          text.textContent = "无法获取进度，请稍后刷新页面";
          return;
        }
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, delay);
})();
