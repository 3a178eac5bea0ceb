// The dashboard's charts: each <canvas data-chart="ID"> draws the figures of <script type="application/json" id="ID">
// with the vendored Chart.js. The same figures are in a table beside each chart; without JavaScript only the
// tables show.
(function () {
  "use strict";
  // Colours with at least 3:1 contrast against white (WCAG 1.4.11), told apart by the legend's words too.
  var TONES = { received: "#0b5cad", answered: "#1e6b35", denied: "#a4161a" };
  var INK = "#1b1f24";
  var GRID = "#d0d7de";
  window.Chart && (window.Chart.defaults.font.size = 14);

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source || typeof window.Chart !== "function") {
      return;
    }
    var figures = JSON.parse(source.textContent);
    var chart = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: figures.labels,
        datasets: figures.series.map(function (series) {
          return { label: series.label, data: series.values, backgroundColor: TONES[series.tone] || INK };
        })
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        color: INK,
        plugins: { legend: { position: "bottom", labels: { color: INK } }, title: { display: false } },
        scales: {
          x: { ticks: { color: INK }, grid: { display: false } },
          y: { beginAtZero: true, ticks: { color: INK, precision: 0 }, grid: { color: GRID } }
        }
      }
    });
    canvas.setAttribute("data-drawn", String(chart.data.datasets.length));
  }

  function drawAll() {
    var canvases = document.querySelectorAll("canvas[data-chart]");
    for (var i = 0; i < canvases.length; i += 1) {
      draw(canvases[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
