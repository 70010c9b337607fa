// The 打印 button of the print pages (templates/staff/print/base.html): the page's CSP
// allows no inline script, so the button is wired here (docs/PRINTING.md).
(function () {
  "use strict";
  function wire() {
    var buttons = document.querySelectorAll("[data-print]");
    for (var i = 0; i < buttons.length; i += 1) {
      buttons[i].addEventListener("click", function () {
        window.print();
      });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
