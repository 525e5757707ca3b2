// Behaviour every page may use, wired here rather than with inline handlers, which the
// Content-Security-Policy (script-src 'self') does not run:
//   <button data-print>                     prints the page
//   <select data-autosubmit>                submits its form when changed
//   <select data-autosubmit data-clear="a b">  also empties the named fields first (e.g. choices
//                                           that belong to the previous value)
//   <button data-bs-toggle="collapse" data-bs-target="#id">  shows or hides #id (the menu on narrow
//                                           screens: Tabler's 135 KB script is not loaded for this alone)
//   <div data-load-url="/x/" [data-load-swap="outerHTML"]>  replaced by (or filled with) the fragment
//                                           at that address once the page has loaded (the 待办 badge and
//                                           notice: no htmx on pages that need nothing else of it). Sent
//                                           as htmx sends it (HX-Request), so a gated account gets a 403
//                                           and nothing is swapped; a redirect (a lapsed session) neither.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-bs-toggle=collapse]").forEach(function (button) {
    var target = document.querySelector(button.dataset.bsTarget);
    if (!target) { return; }
    button.setAttribute("aria-expanded", "false");
    button.addEventListener("click", function () {
      var open = target.classList.toggle("show");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  });
  document.querySelectorAll("[data-load-url]").forEach(function (el) {
    fetch(el.dataset.loadUrl, { credentials: "same-origin", redirect: "manual", headers: { "HX-Request": "true" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        if (el.dataset.loadSwap === "outerHTML") { el.outerHTML = html; } else { el.innerHTML = html; }
      })
      .catch(function () { /* the page works without its badge */ });
  });
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
