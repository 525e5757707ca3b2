// Sortable tables: a click on a column heading of a table marked data-sortable orders its body by
// that column (again: the other way). Numbers sort as numbers (data-value when given, else the
// cell's text without thousands separators, "%" or ":1"); "—" (no value) sorts last. Totals sit in
// <tfoot> and stay where they are. Headings become buttons so that the keyboard reaches them.
(function () {
  function valueOf(cell) {
    if (!cell) { return null; }
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
    if (raw === "" || raw === "—") { return null; }
    var number = Number(raw.replace(/[,\s%]|:1$/g, ""));
    return isNaN(number) ? raw : number;
  }

  function compare(a, b) {
    if (a === null) { return b === null ? 0 : 1; }
    if (b === null) { return -1; }
    if (typeof a === "number" && typeof b === "number") { return a - b; }
    return String(a).localeCompare(String(b), "zh-Hans-CN");
  }

  function sortBy(table, index, heading) {
    var body = table.tBodies[0];
    var descending = heading.getAttribute("aria-sort") !== "descending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var order = compare(valueOf(r1.cells[index]), valueOf(r2.cells[index]));
      if (valueOf(r1.cells[index]) === null || valueOf(r2.cells[index]) === null) { return order; }
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute("aria-sort"); });
    heading.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }

  function prepare(table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort-button";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, index, th); });
    });
    table.dataset.sortReady = "yes";
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table[data-sortable]"), prepare);
  });
})();
