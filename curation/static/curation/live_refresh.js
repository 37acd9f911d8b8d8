/* Admin pages that show live state refresh it themselves (docs/fleet.md, docs/curation.md): the fleet
 * page, a screen's page and the system status page. Every data-seconds (from #live-refresh) while the
 * tab is visible, the page fetches itself and puts in
 *   - each element marked data-live: its content, from the element with the same id;
 *   - each row of the tables named by data-rows (a selector): its cells but the first (Django's action
 *     checkbox, whose handlers and choice stay), matched by the row's checkbox value.
 * Nothing is replaced while the operator is in it: focus inside a region, a text selection in it, or
 * (the fleet list) a row chosen for an action. A failed fetch keeps what is shown and tries again at
 * the next turn. One timer, no listener added after the start.
 */
(function () {
  "use strict";
  var root = document.getElementById("live-refresh");
  if (!root || !window.fetch || !window.DOMParser) { return; }
  var seconds = Math.max(2, Number(root.dataset.seconds) || 10);
  var rowsSelector = root.dataset.rows || "";
  var timer = null;

  function busy(element) {
    var active = document.activeElement;
    if (active && active !== document.body && element.contains(active)) { return true; }
    var selection = window.getSelection ? window.getSelection() : null;
    return !!(selection && !selection.isCollapsed && selection.anchorNode && element.contains(selection.anchorNode));
  }

  function rowKey(row) {
    var box = row.querySelector("input.action-select");
    return box ? box.value : "";
  }

  function refreshRows(fresh) {
    if (!rowsSelector || document.querySelector("input.action-select:checked")) { return; }
    var incoming = {};
    fresh.querySelectorAll(rowsSelector).forEach(function (row) { incoming[rowKey(row)] = row; });
    document.querySelectorAll(rowsSelector).forEach(function (row) {
      var other = incoming[rowKey(row)];
      if (!other || busy(row)) { return; }
      var cells = row.children, newCells = other.children;
      for (var i = 1; i < cells.length && i < newCells.length; i++) {
        if (cells[i].innerHTML !== newCells[i].innerHTML) { cells[i].innerHTML = newCells[i].innerHTML; }
      }
    });
  }

  function apply(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-live][id]").forEach(function (element) {
      var other = fresh.getElementById(element.id);
      if (other && !busy(element) && element.innerHTML !== other.innerHTML) { element.innerHTML = other.innerHTML; }
    });
    refreshRows(fresh);
    root.dataset.refreshed = String(Date.now());
  }

  function turn() {
    timer = null;
    if (document.visibilityState !== "visible") { later(); return; }
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store", headers: { "X-Live-Refresh": "1" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html) { apply(html); } })
      .catch(function () { /* away, or a page that would not parse: try again at the next turn */ })
      .then(later);
  }

  function later() {
    if (!timer) { timer = window.setTimeout(turn, seconds * 1000); }
  }

  later();
})();
