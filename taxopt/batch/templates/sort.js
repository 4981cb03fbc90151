(function () {
  "use strict";
  // Sort a table on a click of its column header; each cell sorts by its data-v.
  function key(cell) {
    return cell ? cell.getAttribute("data-v") || "" : "";
  }
  function compare(a, b) {
    if (a === b) return 0;
    if (a === "") return 1;          // empty cells last, either way
    if (b === "") return -1;
    var x = Number(a), y = Number(b);
    if (!isNaN(x) && !isNaN(y)) return x - y;
    return a < b ? -1 : 1;
  }
  function sortBy(table, col, th) {
    var descending = th.getAttribute("aria-sort") === "ascending";
    var heads = table.tHead.rows[0].cells;
    for (var h = 0; h < heads.length; h++) heads[h].removeAttribute("aria-sort");
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (r, i) { r._pos = i; });
    rows.sort(function (r, s) {
      var a = key(r.cells[col]), b = key(s.cells[col]);
      if (a === "" || b === "") return compare(a, b) || r._pos - s._pos;
      return (descending ? -compare(a, b) : compare(a, b)) || r._pos - s._pos;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.querySelector("button").addEventListener("click", function () {
        sortBy(table, col, th);
      });
    });
  });
})();
