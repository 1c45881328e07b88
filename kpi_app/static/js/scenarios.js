/* Live preview of a scenario's scores while typing. The form works without this script:
   it only posts the values to the preview endpoint and rewrites the score table cells. */
(function () {
  "use strict";
  var form = document.getElementById("scenario-values");
  var table = document.getElementById("dimension-scores");
  var status = document.getElementById("scores-status");
  if (!form || !table || !window.fetch) { return; }
  var timer = null;

  function scoreText(score, label) {
    if (score === null) { return "–"; }
    return score.toFixed(1) + " % " + (label || "");
  }

  function update(groups) {
    groups.forEach(function (row) {
      var tr = table.querySelector('tr[data-group="' + row.id + '"]');
      if (!tr) { return; }
      tr.querySelector("td.scenario").textContent = scoreText(row.scenario_score, row.scenario_label);
      var delta = row.delta === null ? 0 : row.delta;
      var text = form.dataset;
      var words = row.change === "same" ? text.textSame
        : ((row.change === "up" ? text.textUp : text.textDown) + " " + Math.abs(delta).toFixed(1) + " " + text.textPoints);
      if (row.band_change !== 0) { words += "; " + text.textBand + " " + row.baseline_band + " → " + row.scenario_band; }
      tr.querySelector("td.difference").textContent = words + " " + text.textUnsaved;
      tr.classList.toggle("changed", row.change !== "same");
    });
  }

  function preview() {
    var body = new FormData(form);
    fetch(form.dataset.previewUrl, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        update(data.dimensions.concat(data.overall));
        if (status) { status.textContent = form.dataset.textUpdated; }
      })
      .catch(function () { /* the server-side form still works */ });
  }

  form.addEventListener("input", function (event) {
    if (!event.target.name || event.target.name.indexOf("value:") !== 0) { return; }
    window.clearTimeout(timer);
    timer = window.setTimeout(preview, 400);
  });
})();
