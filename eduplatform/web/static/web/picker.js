// Searchable pickers (issue 18): every <input data-picker> becomes a Tom Select that searches its
// scoped endpoint (data-picker-url, answering ?q= with {"results": [{value, text, hint}]}) as the
// user types a name or a code. The input keeps its name, so the form posts the chosen value exactly
// as a typed code was posted before. Loaded by platform.js after Tom Select, only where a picker is.
(function () {
  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function enhance(input) {
    if (input.tomselect) { return; }
    var url = input.dataset.pickerUrl;
    var value = input.value;
    var current = value ? [{value: value, text: input.dataset.pickerLabel || value}] : [];
    var picker = new TomSelect(input, {
      maxItems: 1,
      valueField: "value",
      labelField: "text",
      searchField: [],                       // the server searches (name or code, within the jurisdiction)
      options: current,
      items: value ? [value] : [],
      // A value the list cannot hold (a place outside Guangdong, by its code) may be typed when the
      // field says which values it accepts (data-picker-accept, a regular expression).
      create: Boolean(input.dataset.pickerAccept),
      createFilter: input.dataset.pickerAccept ? new RegExp(input.dataset.pickerAccept) : null,
      persist: false,
      preload: "focus",
      loadThrottle: 250,
      maxOptions: 50,
      closeAfterSelect: true,
      placeholder: input.getAttribute("placeholder") || "",
      shouldLoad: function () { return true; },
      score: function () { return function () { return 1; }; },
      load: function (query, callback) {
        var self = this;
        fetch(url + "?q=" + encodeURIComponent(query), {credentials: "same-origin", headers: {Accept: "application/json"}})
          .then(function (response) { return response.ok ? response.json() : {results: []}; })
          .then(function (data) {
            // An answer that arrives after the user moved on to another field must not reopen the
            // list over the rest of the form.
            if (!self.wrapper.contains(document.activeElement)) { callback(data.results); self.close(); return; }
            self.clearOptions();             // keep only this query's answer (and the chosen item)
            callback(data.results);
          })
          .catch(function () { callback(); });
      },
      render: {
        option: function (item, escape) {
          return "<div>" + escape(item.text) + (item.hint ? ' <small class="picker-hint">' + escape(item.hint) + "</small>" : "") + "</div>";
        },
        item: function (item, escape) { return "<div>" + escape(item.text) + "</div>"; },
        no_results: function () { return '<div class="no-results">' + escapeHtml(input.dataset.pickerEmpty || "") + "</div>"; },
        loading: function () { return '<div class="loading">' + escapeHtml(input.dataset.pickerLoading || "") + "</div>"; }
      }
    });
    // Fields that apply only to some stages (专业、学制 for vocational and higher education) show
    // once the chosen school has such a stage.
    if (input.dataset.picker === "school" && input.form) {
      var showFieldsFor = function (mask) {
        input.form.querySelectorAll("[data-stage-mask]").forEach(function (field) {
          var box = field.closest("[class*='col-']") || field.parentElement;
          box.hidden = !(Number(field.dataset.stageMask) & mask);
        });
      };
      picker.on("change", function (code) {
        var chosen = picker.options[code];
        if (chosen && chosen.stage_mask !== undefined) { showFieldsFor(chosen.stage_mask); }
      });
    }
    // A value posted before (a form shown again) is named by the same scoped search.
    if (value && !input.dataset.pickerLabel) {
      fetch(url + "?q=" + encodeURIComponent(value), {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (response) { return response.ok ? response.json() : {results: []}; })
        .then(function (data) {
          var hit = data.results.filter(function (r) { return r.value === value; })[0];
          if (hit) { picker.updateOption(value, hit); picker.trigger("change", value); }
        })
        .catch(function () {});
    }
    // Focus elsewhere closes the list (Tom Select ignores the blur that follows a click on an option).
    document.addEventListener("focusin", function (event) {
      if (!picker.wrapper.contains(event.target)) { picker.close(); }
    });
    // The original input stays in the form (hidden, out of the tab order): it keeps the label's name.
    var labelledBy = picker.control_input.getAttribute("aria-labelledby");
    if (labelledBy) { input.setAttribute("aria-labelledby", labelledBy); }
    else if (input.getAttribute("aria-label")) {  // a field named by aria-label, with no <label>
      picker.control_input.setAttribute("aria-label", input.getAttribute("aria-label"));
    }
    // A required field stays required for assistive technology on the control people type into.
    if (input.required) { picker.control_input.setAttribute("aria-required", "true"); }
    if (input.getAttribute("aria-invalid")) { picker.control_input.setAttribute("aria-invalid", "true"); }
    if (input.getAttribute("aria-describedby")) {
      picker.control_input.setAttribute("aria-describedby", input.getAttribute("aria-describedby"));
    }
  }

  document.querySelectorAll("input[data-picker]").forEach(enhance);
})();
