// Calculator pages: a print button and pickers that apply themselves. Wired here rather than with
// inline handlers, which the Content-Security-Policy (script-src 'self') does not run.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
