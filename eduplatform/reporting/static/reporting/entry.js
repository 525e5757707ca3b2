// The entry page of a form (报表填报) and the reviewer's page. Wired here, not inline (CSP: script-src 'self').
//  * a prefilled cell changed from the records' value shows the difference and asks for an explanation;
//  * after an auto-save (htmx), the cells' classes follow the rule results swapped in beside them, and
//    the explanation box of a soft rule shows while the rule fails (or holds an explanation);
//  * on the reviewer's page a click on a cell opens the input for that cell's return reason.
(function () {
  "use strict";

  function number(text) {
    if (text === null || text === undefined) { return null; }
    var cleaned = String(text).replace(/[,，\s]/g, "");
    if (cleaned === "") { return null; }
    var value = Number(cleaned);
    return isNaN(value) ? null : value;
  }

  function formatted(value) {
    var rounded = Math.round(value * 1e6) / 1e6;
    return rounded.toLocaleString("zh-CN", { maximumFractionDigits: 6 });
  }

  function showPrefillDifference(input) {
    var cell = input.closest("[data-cell]");
    if (!cell) { return; }
    var id = cell.id.replace(/^cell-/, "");
    var diff = document.getElementById("diff-" + id);
    var box = document.getElementById("explain-" + id);
    var recorded = number(input.dataset.prefill), entered = number(input.value);
    var changed = recorded !== entered;
    if (diff) {
      if (!changed) { diff.textContent = ""; }
      else if (recorded !== null && entered !== null) {
        var d = entered - recorded;
        diff.textContent = "差 " + (d > 0 ? "+" : "−") + formatted(Math.abs(d));
      } else { diff.textContent = "已修改"; }
    }
    if (box) {
      box.classList.toggle("d-none", !changed && !box.value.trim());
    }
  }

  function followResults() {
    document.querySelectorAll(".rp-cell").forEach(function (cell) {
      var notes = cell.querySelector(".rp-notes");
      if (!notes) { return; }
      var hard = notes.querySelector(".rp-note-hard, .rp-note-type");
      var soft = notes.querySelector(".rp-note-soft");
      cell.classList.toggle("rp-error", !!hard);
      cell.classList.toggle("rp-warning", !hard && !!soft);
    });
    var state = document.getElementById("rule-state");
    var failed = state ? (state.dataset.softFailed || "").split(" ").filter(Boolean) : [];
    document.querySelectorAll(".rp-softbox[data-soft]").forEach(function (box) {
      var area = box.querySelector("textarea");
      var show = failed.indexOf(box.dataset.soft) >= 0 || (area && area.value.trim() !== "");
      box.classList.toggle("d-none", !show);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-prefill]").forEach(function (input) {
      input.addEventListener("input", function () { showPrefillDifference(input); });
    });
    document.querySelectorAll("[data-reason-toggle]").forEach(function (cell) {
      cell.addEventListener("click", function (event) {
        if (event.target.tagName === "INPUT") { return; }
        var input = cell.querySelector(".rp-reason");
        if (!input) { return; }
        input.classList.remove("d-none");
        input.focus();
      });
      cell.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && event.target === cell) { event.preventDefault(); cell.click(); }
      });
    });
    var status = document.getElementById("save-status");
    document.body.addEventListener("htmx:beforeRequest", function () {
      var current = document.getElementById("save-status");
      if (current) { current.textContent = "保存中…"; current.dataset.status = "saving"; }
    });
    document.body.addEventListener("htmx:afterSettle", followResults);
    document.body.addEventListener("htmx:responseError", function () {
      var current = document.getElementById("save-status");
      if (current) { current.textContent = "保存失败：网络或服务器错误，您输入的内容仍在本页，请稍后再试"; current.dataset.status = "error"; }
    });
    if (status) { followResults(); }
  });
})();
