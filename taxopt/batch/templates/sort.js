(function () {
  "use strict";
  // Sort a table on a click of its column header; each cell sorts by its data-v
  // (as a number when every non-empty key of the column is one), empty cells last.
  function sortBy(table, col, th) {
    var descending = th.getAttribute("aria-sort") === "ascending";
    var heads = table.tHead.rows[0].cells;
    for (var h = 0; h < heads.length; h++) heads[h].removeAttribute("aria-sort");
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var body = table.tBodies[0];
    var numeric = true;
    var items = Array.prototype.map.call(body.rows, function (r, i) {
      var cell = r.cells[col];
      var k = cell ? cell.getAttribute("data-v") || "" : "";
      if (k !== "" && isNaN(Number(k))) numeric = false;
      return {row: r, key: k, pos: i};
    });
    items.forEach(function (it) { it.v = numeric && it.key !== "" ? Number(it.key) : it.key; });
    var sign = descending ? -1 : 1;
    items.sort(function (a, b) {
      if (a.key === "" || b.key === "") {
        return (a.key === "") - (b.key === "") || a.pos - b.pos;
      }
      var c = a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
      return sign * c || a.pos - b.pos;
    });
    var frag = document.createDocumentFragment();
    items.forEach(function (it) { frag.appendChild(it.row); });
    body.appendChild(frag);
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
