// Behaviour every page may use, wired here rather than with inline handlers, which the
// Content-Security-Policy (script-src 'self') does not run:
//   <button data-print>                     prints the page
//   <select data-autosubmit>                submits its form when a choice is made with the mouse or
//                                           confirmed with Enter — never on a keyboard arrow, which
//                                           changes a closed select's value at once (reloading on the
//                                           first arrow made the other options unreachable)
//   <select data-autosubmit data-clear="a b">  also empties the named fields first (e.g. choices
//                                           that belong to the previous value)
//   <select data-picker="…" data-picker-url="…">  a searchable picker (Tom Select, loaded only on
//                                           pages that have one; see web/picker.js)
(function () {
  // Keys that move through a select's options without choosing one for good.
  var BROWSING_KEYS = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"];

  function submitWith(select) {
    (select.dataset.clear || "").split(" ").filter(Boolean).forEach(function (name) {
      var field = select.form.elements[name];
      if (field) { field.value = ""; }
    });
    select.form.submit();
  }

  function wireAutosubmit(select) {
    var submitted = select.value;
    var browsing = false;
    select.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        if (select.value !== submitted) { submitted = select.value; submitWith(select); }
        return;
      }
      // Arrows and typed letters change a closed select's value: the change they cause is browsing.
      browsing = BROWSING_KEYS.indexOf(event.key) >= 0 || event.key.length === 1;
    });
    select.addEventListener("pointerdown", function () { browsing = false; });
    select.addEventListener("change", function () {
      if (browsing) { browsing = false; return; }  // wait for Enter (or the form's own button)
      submitted = select.value;
      submitWith(select);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    document.querySelectorAll("select[data-autosubmit]").forEach(wireAutosubmit);
    // Pickers: Tom Select's files, then web/picker.js, only on a page that has a picker.
    var picker = document.querySelector("[data-picker]");
    if (picker) {
      var css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = picker.dataset.pickerCss;
      document.head.appendChild(css);
      var lib = document.createElement("script");
      lib.src = picker.dataset.pickerLib;
      lib.onload = function () {
        var own = document.createElement("script");
        own.src = picker.dataset.pickerScript;
        document.head.appendChild(own);
      };
      document.head.appendChild(lib);
    }
  });
})();
