/* Emotion check page: capture → POST /emotion → the result. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var visitorId = null;
  var result = null;  // the last answer: kept across a language switch (Kiosk.keepVisitOnLanguageSwitch)
  var camera = new K.Camera(K.$("camera"), K.$("camera-status"), K.$("capture-button"), K.$("camera-retry"));

  K.$("capture-button").addEventListener("click", function () {
    K.$("raw-result").textContent = "";
    K.captureFlow({ camera: camera, stateBox: K.$("capture-state"), getVisitorId: function () { return visitorId; } })
      .then(function (answer) {
        if (!answer) { return; }
        show(answer);
      });
  });

  function show(answer) {
    result = answer;
    visitorId = answer.id;
    K.$("raw-result").textContent = JSON.stringify(answer, null, 2);
  }

  K.keepVisitOnLanguageSwitch("emotion", function () { return result; });
  var saved = K.takeVisit("emotion", (K.idleSeconds && K.idleSeconds(document.body)) || 90);
  if (saved && saved.id) {
    K.showResult(K.$("capture-state"), saved);
    show(saved);
  }

  camera.start();
})();
