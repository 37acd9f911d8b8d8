/* The model library's list follows the folder (docs/models.md#the-library-follows-its-folder):
 * every data-seconds while the tab is visible it asks data-url for the library's version (a short
 * digest of what the list shows: library.selectors.listing_version) and reloads the page when it
 * differs from the one the page was drawn with: a model the folder gained or lost, a scan that ended.
 * Not while the operator is choosing (a row ticked for an action, or typing in a field): then the
 * note #library-changed says so until they are done. A failed fetch is tried again at the next turn.
 */
(function () {
  "use strict";
  var root = document.getElementById("library-follow");
  if (!root || !window.fetch) { return; }
  var note = document.getElementById("library-changed");
  var seconds = Math.max(1, Number(root.dataset.seconds) || 5);

  function choosing() {
    if (document.querySelector("input.action-select:checked")) { return true; }
    var active = document.activeElement;
    return !!(active && active !== document.body && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName));
  }

  function seen(answer) {
    if (!answer || answer.version === root.dataset.version) { return; }
    if (choosing()) {
      if (note) { note.hidden = false; }
      return;
    }
    root.dataset.reloading = "1";
    window.location.reload();
  }

  function turn() {
    if (document.visibilityState !== "visible") { window.setTimeout(turn, seconds * 1000); return; }
    fetch(root.dataset.url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(seen)
      .catch(function () { /* away for a moment: try again at the next turn */ })
      .then(function () { if (!root.dataset.reloading) { window.setTimeout(turn, seconds * 1000); } });
  }

  window.setTimeout(turn, seconds * 1000);
})();
