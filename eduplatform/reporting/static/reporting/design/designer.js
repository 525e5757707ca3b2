// The form designer: the pickers insert a cell reference or a RECORD(...) measure into the expression
// box last focused; forms and buttons marked data-confirm ask first (publishing, deleting a table).
// Wired here, not inline, for the Content-Security-Policy (script-src 'self').
document.addEventListener("DOMContentLoaded", function () {
  var last = null;
  document.addEventListener("focusin", function (e) {
    if (e.target.matches && e.target.matches("[data-expression]")) { last = e.target; }
  });
  document.querySelectorAll("[data-expression-picker]").forEach(function (picker) {
    picker.addEventListener("change", function () {
      var text = picker.value;
      picker.value = "";
      if (!text || !last) { return; }
      var start = last.selectionStart || last.value.length, end = last.selectionEnd || start;
      last.value = last.value.slice(0, start) + text + last.value.slice(end);
      last.focus();
      last.selectionStart = last.selectionEnd = start + text.length;
      last.dispatchEvent(new KeyboardEvent("keyup", { bubbles: true }));
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) { if (!window.confirm(form.dataset.confirm)) { e.preventDefault(); } });
  });
  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (e) { if (!window.confirm(button.dataset.confirm)) { e.preventDefault(); } });
  });
});
