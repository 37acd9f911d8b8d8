/* The enrolment page: take this screen's device secret (once), keep it, open the screen's page.
 * The secret goes into localStorage only (screen.js signs beats with it); it is never shown. */
(function () {
  "use strict";
  var root = document.getElementById("screen-enrol");
  var RETRY_MS = 5000;

  function step(name) {
    root.querySelectorAll("[data-step]").forEach(function (el) { el.hidden = el.dataset.step !== name; });
    root.dataset.state = name;
  }

  function storageWorks() {
    try { localStorage.setItem("garden.screen.probe", "1"); localStorage.removeItem("garden.screen.probe"); return true; } catch (e) { return false; }
  }

  function enrol() {
    if (!storageWorks()) { step("storage"); return; }
    step("working");
    var body = JSON.stringify({ token: root.dataset.token, anonymous: window.GardenScreen.anonymousId() });
    fetch(root.dataset.enrolUrl, { method: "POST", body: body, headers: { "Content-Type": "application/json" }, credentials: "omit", cache: "no-store" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (answer) {
          if (!response.ok || !answer.secret) {
            if (response.status >= 500 || response.status === 429) { throw new Error("retry"); }
            step("failed");
            return;
          }
          window.GardenScreen.enrolled({ id: answer.screen, secret: answer.secret, name: answer.name });
          step("done");
          window.setTimeout(function () { window.location.replace(answer.next); }, 1500);
        });
      })
      .catch(function () { step("network"); window.setTimeout(enrol, RETRY_MS); });
  }

  enrol();
})();
