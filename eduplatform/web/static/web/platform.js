// Behaviour every page may use, wired here rather than with inline handlers, which the
// Content-Security-Policy (script-src 'self') does not run:
//   <button data-print>                     prints the page
//   <select data-autosubmit>                submits its form when changed
//   <select data-autosubmit data-clear="a b">  also empties the named fields first (e.g. choices
//                                           that belong to the previous value)
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      (select.dataset.clear || "").split(" ").filter(Boolean).forEach(function (name) {
        var field = select.form.elements[name];
        if (field) { field.value = ""; }
      });
      select.form.submit();
    });
  });
});
