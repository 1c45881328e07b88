/* Data entry enhancements. The forms work without this file; it only adds:
   - a live preview of the computed value (numerator ÷ denominator × multiplier),
   - filling the denominator from the city profile when "use the city profile" is ticked,
   - a warning before leaving a form with unsaved changes. */
(function () {
  "use strict";

  // Same reading rules as services/numbers.py, reduced to the common cases.
  function readNumber(text) {
    var t = (text || "").trim().replace(/[\s\u00a0\u202f']/g, "").replace(/^[\u2212\u2013]/, "-");
    if (!t) { return null; }
    var comma = t.lastIndexOf(","), dot = t.lastIndexOf(".");
    if (comma > -1 && dot > -1) {
      t = comma > dot ? t.replace(/\./g, "").replace(",", ".") : t.replace(/,/g, "");
    } else if (comma > -1) {
      t = /^\d{1,3}(,\d{3})+$/.test(t) ? t.replace(/,/g, "") : t.replace(",", ".");
    }
    var n = Number(t);
    return isFinite(n) ? n : null;
  }

  function field(fieldset, suffix) {
    return fieldset.querySelector("[name$='-" + suffix + "']");
  }

  function setUpItem(fieldset) {
    var multiplier = Number(fieldset.getAttribute("data-multiplier"));
    var numerator = field(fieldset, "numerator");
    var denominator = field(fieldset, "denominator");
    var useFact = field(fieldset, "use_fact");
    var preview = fieldset.querySelector(".live-preview");
    if (!numerator || !denominator || !preview || !multiplier) { return; }
    var fact = fieldset.getAttribute("data-fact");

    function update() {
      if (useFact && useFact.checked && fact) { denominator.value = fact; }
      denominator.readOnly = Boolean(useFact && useFact.checked && fact);
      var n = readNumber(numerator.value), d = readNumber(denominator.value);
      if (n === null || d === null || n < 0 || d <= 0) { preview.hidden = true; return; }
      var value = n / d * multiplier;
      preview.textContent = preview.getAttribute("data-label") + " " +
        value.toLocaleString(document.documentElement.lang || undefined, { maximumFractionDigits: 4 });
      preview.hidden = false;
    }
    // The label comes translated from the template (data-label), in every UI language.
    [numerator, denominator, useFact].forEach(function (input) {
      if (input) { input.addEventListener("input", update); input.addEventListener("change", update); }
    });
    update();
  }

  function guardUnsaved(form) {
    var dirty = false;
    var message = form.getAttribute("data-unsaved-warning") || "";
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) {
      if (!dirty) { return undefined; }
      event.preventDefault();
      event.returnValue = message;
      return message;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.entry-form fieldset.item").forEach(setUpItem);
    document.querySelectorAll("form.entry-form[data-unsaved-warning]").forEach(guardUnsaved);
  });
})();
