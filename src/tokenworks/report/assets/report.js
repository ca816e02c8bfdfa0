/* tokenworks reports and dashboard: draw the embedded plotly figures and filter tables.
   Needs window.Plotly (plotly.js, embedded in the report or served by the dashboard). */
(function () {
  "use strict";

  function config(name) {
    return {
      responsive: true, displaylogo: false,
      toImageButtonOptions: { format: "png", filename: name, scale: 2 },
      modeBarButtonsToAdd: [{
        name: "downloadSvg", title: "Download plot as SVG",
        icon: window.Plotly.Icons.disk,
        click: function (gd) {
          window.Plotly.downloadImage(gd, { format: "svg", filename: name });
        },
      }],
    };
  }

  function renderCharts(root) {
    (root || document).querySelectorAll(".tw-plot").forEach(function (el) {
      if (el.dataset.rendered) return;
      var src = document.getElementById(el.dataset.figure);
      if (!src) return;
      var fig = JSON.parse(src.textContent);
      window.Plotly.newPlot(el, fig.data, fig.layout, config(el.dataset.name || "chart"));
      el.dataset.rendered = "1";
    });
  }

  function bindFilters(root) {
    (root || document).querySelectorAll(".tw-filter").forEach(function (box) {
      if (box.dataset.bound) return;
      box.dataset.bound = "1";
      var table = document.getElementById(box.dataset.table);
      var text = box.querySelector("input");
      var select = box.querySelector("select");
      var count = box.querySelector(".tw-count");
      var col = select ? parseInt(select.dataset.column, 10) : -1;
      function apply() {
        var q = (text.value || "").toLowerCase();
        var v = select ? select.value : "";
        var shown = 0, rows = table.tBodies[0].rows;
        for (var i = 0; i < rows.length; i++) {
          var r = rows[i];
          var ok = (!q || r.textContent.toLowerCase().indexOf(q) >= 0) &&
                   (!v || r.cells[col].textContent === v);
          r.style.display = ok ? "" : "none";
          if (ok) shown++;
        }
        count.textContent = shown + " of " + rows.length + " rows";
      }
      text.addEventListener("input", apply);
      if (select) select.addEventListener("change", apply);
      apply();
    });
  }

  function render(root) { renderCharts(root); bindFilters(root); }

  window.twReport = { render: render, renderCharts: renderCharts, bindFilters: bindFilters };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { render(document); });
  } else {
    render(document);
  }
})();
