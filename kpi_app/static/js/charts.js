/* Draws every chart on the page from its JSON data block; no inline scripts (strict CSP).
 *
 * Markup: <div class="chart" data-figure="ID-data" data-topojson="/static/vendor/topojson/">
 * plus <script type="application/json" id="ID-data">{plotly figure}</script>.
 * Without JavaScript the page still shows each chart's text summary and data table.
 */
(function () {
  "use strict";

  function draw(container) {
    var source = document.getElementById(container.getAttribute("data-figure"));
    if (!source || typeof Plotly === "undefined") {
      return;
    }
    var figure = JSON.parse(source.textContent);
    var config = {
      responsive: true,
      displaylogo: false,
      // Map data is served by the app itself, never by plotly's CDN.
      topojsonURL: container.getAttribute("data-topojson") || undefined,
      modeBarButtonsToRemove: ["sendDataToCloud"]
    };
    Plotly.newPlot(container, figure.data, figure.layout || {}, config).then(function () {
      container.setAttribute("data-drawn", "true");
    });
  }

  function drawAll() {
    var charts = document.querySelectorAll(".chart[data-figure]");
    for (var i = 0; i < charts.length; i += 1) {
      draw(charts[i]);
    }
  }

  // Selects marked data-autosubmit (filters) submit on change; the button stays for no-JS use.
  function enhanceFilters() {
    var selects = document.querySelectorAll("select[data-autosubmit]");
    for (var i = 0; i < selects.length; i += 1) {
      selects[i].addEventListener("change", function (event) {
        event.target.form.submit();
      });
    }
  }

  // A search box that narrows a checkbox list (compare: pick cities); ticked items stay shown.
  function enhanceListFilters() {
    var inputs = document.querySelectorAll("input[data-filter-list]");
    for (var i = 0; i < inputs.length; i += 1) {
      var input = inputs[i];
      var list = document.getElementById(input.getAttribute("data-filter-list"));
      if (!list) {
        continue;
      }
      var wrapper = input.closest("[hidden]");
      if (wrapper) {
        wrapper.hidden = false;
      }
      input.addEventListener("input", (function (list) {
        return function (event) {
          var query = event.target.value.trim().toLocaleLowerCase();
          var items = list.querySelectorAll("li");
          for (var j = 0; j < items.length; j += 1) {
            var box = items[j].querySelector("input");
            var text = items[j].textContent.toLocaleLowerCase();
            items[j].hidden = !(box && box.checked) && query !== "" && text.indexOf(query) === -1;
          }
        };
      })(list));
    }
  }

  function start() {
    drawAll();
    enhanceFilters();
    enhanceListFilters();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
