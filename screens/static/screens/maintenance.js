/* The maintenance notice from the first paint (docs/fleet.md). Loaded right after the notice, first
 * in <body> and before the page under it is parsed: an enrolled screen whose last answer said
 * "maintenance" shows the notice at once after a reload, before its first beat is answered, and the
 * page under it is hidden meanwhile (screen.js makes it inert and follows the server from then on). */
(function () {
  "use strict";
  var on = false;
  try {
    var identity = JSON.parse(localStorage.getItem("garden.screen.v1") || "null");
    on = !!(identity && identity.id && identity.secret) && localStorage.getItem("garden.screen.maintenance.v1") === "true";
  } catch (e) { on = false; }
  if (!on) { return; }
  document.getElementById("screen-maintenance").hidden = false;
  document.documentElement.classList.add("screen-maintenance-on");
})();
