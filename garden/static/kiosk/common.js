/* Shared kiosk helpers: camera, capture → POST /emotion, bilingual labels, status states.
 * Plain JavaScript, no build step. Talks only to the public APIs. */
(function () {
  "use strict";

  var EMOTION_LABELS = {
    HAPPY: "행복", SURPRISED: "놀람", CALM: "평온", ANGRY: "화남",
    FEAR: "두려움", CONFUSED: "혼란", DISGUSTED: "혐오", SAD: "슬픔"
  };
  var EMOTION_EN = {
    HAPPY: "Happy", SURPRISED: "Surprised", CALM: "Calm", ANGRY: "Angry",
    FEAR: "Fear", CONFUSED: "Confused", DISGUSTED: "Disgusted", SAD: "Sad"
  };
  var GENDER_LABELS = { Male: ["남자", "male"], Female: ["여자", "female"] };
  var GENERATION_LABELS = {
    "toddler": ["유아", "toddler"], "child": ["어린이", "child"], "teenager": ["청소년", "teenager"],
    "young-adult": ["청년", "young adult"], "adult": ["성인", "adult"],
    "middle-age": ["중년", "middle age"], "elder": ["노년", "elder"]
  };
  // [response key, Korean, English]; shown when true (the original's "안경 눈뜨고있음").
  var FEATURES = [
    ["smile", "웃음", "smiling"], ["eyeglasses", "안경", "eyeglasses"], ["sunglasses", "선글라스", "sunglasses"],
    ["beard", "턱수염", "beard"], ["mustache", "콧수염", "mustache"],
    ["eyesOpen", "눈뜨고있음", "eyes open"], ["mouthOpen", "입벌림", "mouth open"]
  ];

  function $(id) { return document.getElementById(id); }

  /* A status box with a data-state (idle, busy, ok, noface, empty, error) and one line of text.
   * Text is only ever set together with its state, so "No Face" can never show while busy. */
  function setState(box, state, text) {
    box.dataset.state = state;
    box.setAttribute("aria-busy", state === "busy" ? "true" : "false");
    var span = box.querySelector(".state-text");
    span.textContent = text;
  }

  /* A focused button disabled while its request runs loses focus to <body>; the returned function
   * gives it back (to ``target``, when the button was re-rendered) so the keyboard carries on there. */
  function holdFocus(control) {
    var had = document.activeElement === control;
    return function (target) {
      var lost = !document.activeElement || document.activeElement === document.body;
      if (had && lost) { (target || control).focus(); }
    };
  }

  /* ---------- Camera ---------- */
  function Camera(video, statusEl, captureButton, retryButton) {
    this.video = video;
    this.statusEl = statusEl;
    this.captureButton = captureButton;
    this.retryButton = retryButton;
    this.stream = null;
    var self = this;
    retryButton.addEventListener("click", function () { self.start(); });
  }

  Camera.prototype.showStatus = function (text) {
    this.statusEl.textContent = text;
    this.statusEl.hidden = !text;
  };

  Camera.prototype.start = function () {
    var self = this;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      self.showStatus("This browser has no camera access (it needs HTTPS or localhost). · 카메라를 사용할 수 없습니다.");
      self.retryButton.hidden = true;
      return Promise.resolve(false);
    }
    self.showStatus("Starting the camera… · 카메라를 켜는 중…");
    self.retryButton.hidden = true;
    return navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" }, audio: false
    }).then(function (stream) {
      self.stream = stream;
      self.video.srcObject = stream;
      return new Promise(function (resolve) {
        if (self.video.readyState >= 2) { resolve(); return; }
        self.video.addEventListener("loadeddata", function () { resolve(); }, { once: true });
      });
    }).then(function () {
      self.showStatus("");
      self.captureButton.disabled = false;
      return true;
    }).catch(function (err) {
      self.captureButton.disabled = true;
      self.retryButton.hidden = false;
      var denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
      self.showStatus(denied
        ? "Camera permission was refused. Allow the camera and press Start camera. · 카메라 권한을 허용해 주세요."
        : "No camera found. Connect one and press Start camera. · 카메라를 찾을 수 없습니다.");
      return false;
    });
  };

  /* One still frame as PNG bytes (canvas.toBlob), never stored: it lives only for the request. */
  Camera.prototype.snapshot = function () {
    var video = this.video;
    var canvas = document.createElement("canvas");
    canvas.width = video.videoWidth || 640;
    canvas.height = video.videoHeight || 480;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise(function (resolve, reject) {
      canvas.toBlob(function (blob) {
        canvas.width = canvas.height = 0;  // drop the pixels
        if (blob) { resolve(blob); } else { reject(new Error("capture failed")); }
      }, "image/png");
    });
  };

  /* ---------- /emotion ---------- */
  function KioskError(kind, message) { this.kind = kind; this.message = message; }

  /* POST the raw PNG bytes; resolves with the JSON result, rejects with a KioskError
   * of kind "noface" (404 No Face), "http" (other statuses) or "network". */
  function postEmotion(blob, visitorId) {
    var headers = { "Content-Type": "image/png" };
    if (visitorId) { headers["X-user-id"] = visitorId; }
    return fetch("/emotion", { method: "POST", body: blob, headers: headers, credentials: "same-origin" })
      .catch(function () { throw new KioskError("network", "network"); })
      .then(function (response) {
        if (response.status === 404) {
          return response.text().then(function (text) {
            if (text.trim() === "No Face") { throw new KioskError("noface", text); }
            throw new KioskError("http", "HTTP 404");
          });
        }
        if (!response.ok) { throw new KioskError("http", "HTTP " + response.status); }
        return response.json();
      });
  }

  /* JSON POST to a kiosk API; resolves with the Response (ok or not), rejects on network failure. */
  function postJSON(url, body, extraHeaders, keepalive) {
    var headers = { "Content-Type": "application/json" };
    if (extraHeaders) { Object.keys(extraHeaders).forEach(function (k) { headers[k] = extraHeaders[k]; }); }
    return fetch(url, {
      method: "POST", body: JSON.stringify(body), headers: headers, credentials: "same-origin", keepalive: !!keepalive
    })
      .catch(function () { throw new KioskError("network", "network"); });
  }

  function emotionLabel(upper) {
    var ko = EMOTION_LABELS[upper] || upper;
    var en = EMOTION_EN[upper] || upper;
    return ko + " · " + en + " (" + upper + ")";
  }

  function ageLabel(result) {
    var range = result.ageRange || {};
    var text = range.Low + " ~ " + range.High;
    var gender = GENDER_LABELS[result.gender];
    var generation = GENERATION_LABELS[result.generation];
    var parts = [];
    if (gender) { parts.push(gender[0] + " · " + gender[1]); }
    if (generation) { parts.push(generation[0] + " · " + generation[1]); }
    return parts.length ? text + " (" + parts.join(", ") + ")" : text;
  }

  function featureLabels(result) {
    var out = [];
    FEATURES.forEach(function (f) { if (result[f[0]] === true) { out.push(f[1] + " · " + f[2]); } });
    return out;
  }

  function renderResult(result) {
    $("result-emotion").textContent = emotionLabel(result.emotions);
    $("result-age").textContent = ageLabel(result);
    var features = featureLabels(result);
    $("result-features").textContent = features.length ? features.join(", ") : "— · 없음";
    $("emotion-result").hidden = false;
  }

  function hideResult() { $("emotion-result").hidden = true; }

  /* Messages for the capture state box. */
  var CAPTURE_TEXT = {
    busy: "Looking at the photo… · 분석 중…",
    noface: "No face found. Look straight at the camera and try again. · 얼굴을 찾지 못했습니다. 카메라를 바라보고 다시 시도해 주세요.",
    network: "Network problem: the garden could not be reached. Try again. · 네트워크 오류입니다. 다시 시도해 주세요.",
    http: "The expression service failed. Try again in a moment. · 분석에 실패했습니다. 잠시 후 다시 시도해 주세요."
  };

  /* Run one capture: busy → result | noface | error. Calls onResult(result) on success. */
  function captureFlow(opts) {
    var box = opts.stateBox, camera = opts.camera;
    var restoreFocus = holdFocus(camera.captureButton);
    camera.captureButton.disabled = true;
    hideResult();
    setState(box, "busy", CAPTURE_TEXT.busy);
    return camera.snapshot()
      .then(function (blob) { return postEmotion(blob, opts.getVisitorId()); })
      .then(function (result) {
        setState(box, "ok", "Result: " + emotionLabel(result.emotions) + " · 분석 완료");
        renderResult(result);
        return result;
      }, function (err) {
        var kind = (err && err.kind) || "http";
        setState(box, kind === "noface" ? "noface" : "error", CAPTURE_TEXT[kind] || CAPTURE_TEXT.http);
        return null;
      })
      .then(function (result) {
        camera.captureButton.disabled = false;
        restoreFocus();
        return result;
      });
  }

  window.Kiosk = {
    $: $, setState: setState, holdFocus: holdFocus, Camera: Camera, postEmotion: postEmotion, postJSON: postJSON,
    KioskError: KioskError, captureFlow: captureFlow, renderResult: renderResult, hideResult: hideResult,
    emotionLabel: emotionLabel, EMOTION_EN: EMOTION_EN, EMOTION_LABELS: EMOTION_LABELS
  };
})();
