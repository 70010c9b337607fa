/* Work queue (templates/monitoring/finding_list.html): "select all on this page" for the
 * bulk form, and the count of ticked rows on its button. Without JavaScript the boxes
 * are ticked one by one; nothing else depends on this file. */
(function () {
  "use strict";
  var all = document.getElementById("select-all");
  var form = document.getElementById("bulk-form");
  if (!all || !form) {
    return;
  }
  var submit = form.querySelector("[data-testid='bulk-submit']");
  var label = submit ? submit.textContent : "";

  function boxes() {
    return Array.prototype.slice.call(form.querySelectorAll("input.row-check"));
  }

  function update() {
    var ticked = boxes().filter(function (box) {
      return box.checked;
    }).length;
    if (submit) {
      submit.textContent = ticked ? label + "（" + ticked + "条）" : label;
    }
    all.checked = ticked > 0 && ticked === boxes().length;
  }

  all.addEventListener("change", function () {
    boxes().forEach(function (box) {
      box.checked = all.checked;
    });
    update();
  });
  form.addEventListener("change", function (event) {
    if (event.target && event.target.classList.contains("row-check")) {
      update();
    }
  });
  update();
})();
