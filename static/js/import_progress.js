/* Progress bar of an import batch (templates/monitoring/imports_detail.html).
 * Polls the batch's JSON status endpoint and reloads the page when the batch has
 * finished, so the server renders the summary and the row errors. No inline script:
 * the CSP allows scripts from 'self' only. */
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) {
    return;
  }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("import-progress-bar");
  var text = document.getElementById("import-progress-text");
  var label = document.getElementById("import-status-label");
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
