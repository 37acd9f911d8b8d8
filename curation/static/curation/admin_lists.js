/* The admin's lists (every changelist; loaded by templates/admin/base_site.html): a table wider than
 * its box scrolls sideways inside a box that ends on screen, so its horizontal scroll bar is in
 * sight, not under the last of 50 rows (docs/curation.md#list-columns). Its header row stays on top
 * while the rows scroll (admin_lists.css). */
(function () {
  "use strict";
  var MIN_HEIGHT = 320;  // px: below this the page scrolls as usual, the box is not cut shorter

  function fit() {
    var box = document.querySelector("#changelist .results");
    if (!box) { return; }
    box.classList.remove("results-boxed");
    box.style.maxHeight = "";
    // Everything fits: nothing to scroll. No pixel of slack: the browser scrolls (its bar under the
    // last row) at one pixel over, as a Japanese list whose columns are at their narrowest did.
    if (box.scrollWidth <= box.clientWidth) { return; }
    var top = box.getBoundingClientRect().top + window.scrollY;
    var room = Math.max(MIN_HEIGHT, window.innerHeight - Math.max(0, top - window.scrollY) - 16);
    box.style.maxHeight = room + "px";
    box.classList.add("results-boxed");
  }

  document.addEventListener("DOMContentLoaded", fit);
  window.addEventListener("load", fit);  // thumbnails change the table's width as they arrive
  window.addEventListener("resize", fit);
  // Django's navigation sidebar opens and closes with a transition: the box's width changes after it.
  document.addEventListener("transitionend", function (event) { if (event.target.id === "nav-sidebar" || event.target.id === "main") { fit(); } });
  document.addEventListener("click", function (event) { if (event.target.closest && event.target.closest("#toggle-nav-sidebar")) { window.setTimeout(fit, 50); } });
})();
