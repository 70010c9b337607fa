/* Charts of the dashboard (templates/cases/dashboard.html), drawn with Chart.js
 * (static/vendor/chartjs, MIT). The numbers come from the page itself: a JSON block
 * written by Django's json_script (id "dashboard-data"); no inline script, as the
 * CSP allows scripts from 'self' only. Every chart's numbers are also in the table. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var Chart = window.Chart;
  var BLUE = "#0b5cad";
  var GREEN = "#2e7d32";
  var ORANGE = "#c25400";
  var RED = "#b42318";
  var PALETTE = ["#0b5cad", "#2e7d32", "#c25400", "#6a1b9a", "#00838f", "#b42318", "#5f6b7a"];

  Chart.defaults.font.family =
    '-apple-system, "PingFang SC", "Hiragino Sans GB", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif';
  Chart.defaults.color = "#1f2933";
  Chart.defaults.animation = false;

  function narrow() {
    return window.matchMedia("(max-width: 719px)").matches;
  }

  function canvas(id) {
    return document.getElementById(id);
  }

  function percent(value) {
    return value === null || value === undefined ? "无数据" : value + "%";
  }

  /* Legend below, tooltips "series：12.5%": the same for every percentage chart. */
  function percentPlugins() {
    return {
      legend: { position: "bottom" },
      tooltip: {
        callbacks: {
          label: function (context) {
            return context.dataset.label + "：" + percent(context.raw);
          }
        }
      }
    };
  }

  /* A rate per unit against its target: bars (red below target) and a dashed target line. */
  function rateChart(id, block, label) {
    var element = canvas(id);
    if (!element || !block.labels.length) {
      return;
    }
    var horizontal = narrow() || block.labels.length > 12;
    var colors = block.values.map(function (value) {
      return value !== null && value >= block.target ? GREEN : RED;
    });
    new Chart(element, {
      type: "bar",
      data: {
        labels: block.labels,
        datasets: [
          {
            type: "bar",
            label: label,
            data: block.values,
            backgroundColor: colors,
            order: 2
          },
          {
            type: "line",
            label: "目标 " + block.target + "%",
            data: block.labels.map(function () {
              return block.target;
            }),
            borderColor: ORANGE,
            borderDash: [6, 4],
            borderWidth: 2,
            pointRadius: 0,
            fill: false,
            order: 1
          }
        ]
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        maintainAspectRatio: false,
        responsive: true,
        scales: (function () {
          var value = { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } };
          return horizontal ? { x: value } : { y: value };
        })(),
        plugins: percentPlugins()
      }
    });
  }

  function findingsChart() {
    var element = canvas("chart-findings");
    var block = data.findings;
    if (!element || !block.labels.length) {
      return;
    }
    new Chart(element, {
      type: "bar",
      data: {
        labels: block.labels,
        datasets: [{ label: "待处理", data: block.values, backgroundColor: BLUE }]
      },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        responsive: true,
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { display: false } }
      }
    });
  }

  function categoriesChart() {
    var element = canvas("chart-categories");
    var block = data.categories;
    if (!element) {
      return;
    }
    new Chart(element, {
      type: "doughnut",
      data: {
        labels: block.labels,
        datasets: [{ data: block.values, backgroundColor: PALETTE }]
      },
      options: {
        maintainAspectRatio: false,
        responsive: true,
        plugins: { legend: { position: narrow() ? "bottom" : "right" } }
      }
    });
  }

  /* Key rates over the last 12 monthly snapshots: one line per indicator; months without
   * a snapshot are gaps (null), not zeros. */
  function trendChart() {
    var element = canvas("chart-trend");
    var block = data.trend;
    if (!element || !block || !block.series.length) {
      return;
    }
    new Chart(element, {
      type: "line",
      data: {
        labels: block.labels,
        datasets: block.series.map(function (series, index) {
          var color = PALETTE[index % PALETTE.length];
          return {
            label: series.target === null ? series.label : series.label + "（目标" + series.target + "%）",
            data: series.values,
            borderColor: color,
            backgroundColor: color,
            borderWidth: 2,
            pointRadius: 3,
            spanGaps: false,
            fill: false
          };
        })
      },
      options: {
        maintainAspectRatio: false,
        responsive: true,
        layout: { padding: { right: 24 } },  /* room for the last month's label */
        scales: {
          y: { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } },
          x: { ticks: { autoSkip: true, maxRotation: narrow() ? 60 : 0 } }
        },
        plugins: percentPlugins()
      }
    });
  }

  trendChart();
  rateChart("chart-rehab", data.rehab, "康复服务率");
  rateChart("chart-pairing", data.pairing, "结对覆盖率");
  findingsChart();
  categoriesChart();
  document.documentElement.setAttribute("data-charts", "ready");
})();
