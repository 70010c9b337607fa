// The visit form's household net income, computed as the visitor types (docs/INCOME.md).
// The same sum as cases/income.py: a blank part counts as 0, amounts in fen (integers) so
// nothing drifts, per person rounded half up to the fen. The server recomputes on save and
// its result is what the visit stores; this only shows it early.
(function () {
  "use strict";

  function fen(text) {
    var value = String(text || "").replace(/[,，元\s]/g, "");
    if (value === "") return null;
    if (!/^\d+(\.\d*)?$|^\.\d+$/.test(value)) return NaN;
    var parts = value.split(".");
    var whole = parts[0] ? parseInt(parts[0], 10) : 0;
    var frac = ((parts[1] || "") + "000").slice(0, 3);
    // Half up at the third decimal, as the server quantizes each part to the fen.
    return whole * 100 + Math.floor(parseInt(frac, 10) / 10) + (parseInt(frac[2], 10) >= 5 ? 1 : 0);
  }

  function yuan(amountFen) {
    var sign = amountFen < 0 ? "-" : "";
    var abs = Math.abs(amountFen);
    var cents = String(abs % 100);
    return sign + Math.floor(abs / 100) + "." + (cents.length < 2 ? "0" + cents : cents);
  }

  function perPerson(totalFen, size) {
    var exact = Math.abs(totalFen) / size;
    var rounded = Math.floor(exact);
    // Half up, away from zero (Decimal ROUND_HALF_UP); exact halves divide exactly here.
    if (exact - rounded >= 0.5) rounded += 1;
    return totalFen < 0 ? -rounded : rounded;
  }

  function setup(box) {
    var parts = box.querySelectorAll("[data-income-part]");
    var size = box.querySelector("[data-income-size]");
    var annual = box.querySelector('[data-income-total="annual_income"]');
    var perCapita = box.querySelector('[data-income-total="income_per_capita"]');
    var live = box.querySelector("[data-income-live]");
    if (!parts.length || !size || !annual || !perCapita || !live) return;

    function update() {
      var total = 0;
      var given = false;
      var bad = false;
      for (var i = 0; i < parts.length; i++) {
        var amount = fen(parts[i].value);
        if (amount === null) continue;
        if (isNaN(amount)) {
          bad = true;
          continue;
        }
        given = true;
        total += parseInt(parts[i].getAttribute("data-income-part"), 10) * amount;
      }
      annual.readOnly = given;
      perCapita.readOnly = given;
      if (!given && !bad) {
        live.textContent = "";
        return;
      }
      if (bad) {
        live.textContent = "收入构成中有无法识别的金额，请填写数字（元）";
        return;
      }
      var people = String(size.value || "").trim();
      var count = /^\d+$/.test(people) ? parseInt(people, 10) : 0;
      // A loss year (below zero) is shown but not put in the boxes, which take amounts ≥ 0;
      // the server computes and stores it from the parts either way.
      annual.value = total < 0 ? "" : yuan(total);
      if (count < 1) {
        perCapita.value = "";
        live.textContent = "家庭年纯收入 " + yuan(total) + " 元；请填写家庭人口数以计算人均";
        return;
      }
      var each = perPerson(total, count);
      perCapita.value = each < 0 ? "" : yuan(each);
      live.textContent =
        "家庭年纯收入 " + yuan(total) + " 元，家庭年人均纯收入 " + yuan(each) + " 元（保存时以系统计算为准）";
    }

    box.addEventListener("input", update);
    box.addEventListener("change", update);
    update();
  }

  function start() {
    var boxes = document.querySelectorAll("[data-income-form]");
    for (var i = 0; i < boxes.length; i++) setup(boxes[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
