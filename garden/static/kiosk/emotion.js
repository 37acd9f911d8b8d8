/* Emotion check page: capture → POST /emotion → the result. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var visitorId = null;
  var camera = new K.Camera(K.$("camera"), K.$("camera-status"), K.$("capture-button"), K.$("camera-retry"));

  K.$("capture-button").addEventListener("click", function () {
    K.$("raw-result").textContent = "";
    K.captureFlow({ camera: camera, stateBox: K.$("capture-state"), getVisitorId: function () { return visitorId; } })
      .then(function (result) {
        if (!result) { return; }
        visitorId = result.id;
        K.$("raw-result").textContent = JSON.stringify(result, null, 2);
      });
  });

  camera.start();
})();
