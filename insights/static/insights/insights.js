/* Insights dashboard: draws each chart from the data the page passes with json_script.
 * No inline code (the page works under a strict Content-Security-Policy); Chart.js is vendored.
 * Each chart's section gets data-drawn="1" and data-points="<n>" once drawn (the browser tests read them).
 * Numbers follow the page's language (Intl, the <html lang> Django sets); words come from the static
 * JavaScript catalog the page loads first (gettext, interpolate). */
(function () {
  "use strict";

  var PALETTE = ["#2f7ed8", "#e4572e", "#17a398", "#f3a712", "#8e5ea2", "#3cba9f", "#c45850", "#6c757d", "#a0c4ff", "#ffadad"];

  function colour(index) {
    return PALETTE[index % PALETTE.length];
  }

  var LOCALE = document.documentElement.lang || undefined;
  var NUMBER = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 3 });

  function unitLabel(value, unit) {
    if (value === null || value === undefined) { return ""; }
    var number = NUMBER.format(value);
    if (unit === "%") { return number + "%"; }
    if (unit === "s") { return interpolate(gettext("%s s"), [number]); }
    return number;
  }

  function countPoints(spec) {
    var points = 0;
    spec.datasets.forEach(function (dataset) {
      dataset.data.forEach(function (value) {
        if (value !== null && value !== 0) { points += 1; }
      });
    });
    return points;
  }

  function config(spec) {
    var valueAxis = spec.horizontal ? "x" : "y";
    var categoryAxis = spec.horizontal ? "y" : "x";
    var scales = {};
    scales[valueAxis] = {
      beginAtZero: true,
      stacked: spec.stacked,
      ticks: { callback: function (value) { return unitLabel(value, spec.unit); } }
    };
    if (spec.unit === "%") { scales[valueAxis].suggestedMax = 100; }
    scales[categoryAxis] = { stacked: spec.stacked, ticks: { autoSkip: true, maxRotation: 60 } };
    return {
      type: spec.kind,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (dataset, index) {
          var drawn = {
            label: dataset.label,
            data: dataset.data,
            backgroundColor: colour(index),
            borderColor: colour(index),
            order: 1
          };
          if (dataset.type) {
            drawn.type = dataset.type;  /* the point estimate over an interval bar: drawn on top */
            drawn.order = 0;
            drawn.showLine = false;
            drawn.pointRadius = 4;
            drawn.backgroundColor = "#222";
            drawn.borderColor = "#222";
          }
          return drawn;
        })
      },
      options: {
        animation: false,
        locale: LOCALE,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? "y" : "x",
        scales: scales,
        plugins: {
          legend: { display: spec.datasets.length > 1 },
          tooltip: {
            callbacks: {
              label: function (context) {
                var raw = context.raw;
                var text = Array.isArray(raw)
                  ? unitLabel(raw[0], spec.unit) + " – " + unitLabel(raw[1], spec.unit)
                  : unitLabel(raw, spec.unit);
                return context.dataset.label + ": " + text;
              }
            }
          }
        }
      }
    };
  }

  function draw() {
    var source = document.getElementById("insights-charts");
    if (!source || typeof window.Chart === "undefined") { return; }
    JSON.parse(source.textContent).forEach(function (spec) {
      var section = document.getElementById("chart-" + spec.id);
      if (!section) { return; }
      var canvas = section.querySelector("canvas");
      new window.Chart(canvas, config(spec));
      section.dataset.points = String(countPoints(spec));
      section.dataset.drawn = "1";
    });
    document.getElementById("insights").dataset.ready = "1";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
