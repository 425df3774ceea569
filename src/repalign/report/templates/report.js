/* repalign report: draw the Plotly figures and make the model table sortable and filterable.
   Everything runs from this file and the inlined Plotly bundle: nothing is fetched. */
(function () {
  "use strict";
  function drawPlots() {
    if (typeof Plotly === "undefined") { return; }
    var specs = document.querySelectorAll("script.plot-spec");
    Array.prototype.forEach.call(specs, function (node) {
      var target = document.getElementById(node.getAttribute("data-target"));
      if (!target) { return; }
      var spec = JSON.parse(node.textContent);
      Plotly.newPlot(target, spec.data, spec.layout, spec.config).then(function () {
        target.setAttribute("data-rendered", "1");
      });
    });
  }
  function cellValue(cell) {
    var v = cell.getAttribute("data-v");
    if (v === null || v === "") { return null; }
    var num = Number(v);
    return isNaN(num) ? v.toLowerCase() : num;
  }
  function sortTable(table, index, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.sort(function (a, b) {
      var x = cellValue(a.cells[index]), y = cellValue(b.cells[index]);
      if (x === null && y === null) { return 0; }
      if (x === null) { return 1; }   /* missing values last, whichever the direction */
      if (y === null) { return -1; }
      var order = x < y ? -1 : (x > y ? 1 : 0);
      return ascending ? order : -order;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function setupTables() {
    Array.prototype.forEach.call(document.querySelectorAll("table.models"), function (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
        th.addEventListener("click", function () { sortTable(table, i, th); });
      });
      var box = document.getElementById(table.id + "-filter");
      var count = document.getElementById(table.id + "-count");
      if (box) {
        box.addEventListener("input", function () {
          var terms = box.value.toLowerCase().split(/\s+/).filter(Boolean);
          var shown = 0;
          Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
            var text = row.getAttribute("data-search");
            var ok = terms.every(function (t) { return text.indexOf(t) >= 0; });
            row.hidden = !ok;
            if (ok) { shown += 1; }
          });
          if (count) { count.textContent = String(shown); }
        });
      }
      Array.prototype.forEach.call(document.querySelectorAll("input[data-group-toggle='" + table.id + "']"), function (cb) {
        cb.addEventListener("change", function () {
          var group = cb.getAttribute("data-group");
          Array.prototype.forEach.call(table.querySelectorAll("[data-group='" + group + "']"), function (c) {
            c.hidden = !cb.checked;
          });
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { setupTables(); drawPlots(); });
})();
