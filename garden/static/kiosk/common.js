/* Shared kiosk helpers: camera, capture → POST /emotion, translated words, status states.
 * Plain JavaScript, no build step. Talks only to the public APIs. */
(function () {
  "use strict";

  /* Words come from the compiled JavaScript catalog (garden/static/jsi18n/<language>/djangojs.js,
   * loaded before this file): gettext_noop marks a string for `make messages`, t() translates it
   * into the page's language and, when the installation shows a second language
   * (GARDEN_SECOND_LANGUAGE), appends that one from the JSON catalog the page carries. */
  var secondBlock = document.getElementById("second-language-catalog");
  var second = secondBlock ? JSON.parse(secondBlock.textContent) : null;

  function fill(text, values) { return values ? interpolate(text, values, true) : text; }

  function secondText(msgid) {
    var value = second.catalog[msgid];
    if (value === undefined) { return msgid; }
    return typeof value === "string" ? value : value[0];
  }

  /* A translatable word used as a placeholder's value: each language gets its own; `lower` for a
   * name inside a sentence ("a calm mood"; no change to Korean or Japanese). */
  function Word(msgid, lower) { this.msgid = msgid; this.lower = !!lower; }
  function word(msgid, lower) { return new Word(msgid, lower); }

  function resolve(values, lookup) {
    if (!values) { return values; }
    var out = {};
    Object.keys(values).forEach(function (key) {
      var value = values[key];
      if (value instanceof Word) {
        value = lookup(value.msgid);
        if (values[key].lower) { value = value.toLowerCase(); }
      }
      out[key] = value;
    });
    return out;
  }

  /* msgid (English, with %(name)s placeholders) in the page's language [· second language]. */
  function t(msgid, values) {
    var first = fill(gettext(msgid), resolve(values, gettext));
    return second ? first + " · " + fill(secondText(msgid), resolve(values, secondText)) : first;
  }

  /* The page's language for numbers and dates (Intl): <html lang>. */
  function lang() { return document.documentElement.lang || "en"; }
  function number(n) { return new Intl.NumberFormat(lang()).format(n); }
  /* A list in the page's language's own punctuation ("smiling, eyes open" / "웃는 얼굴, 눈 뜸 및 …" /
   * "女性、大人"): Intl.ListFormat, never a hand-joined ", ". */
  function list(items) {
    if (window.Intl && Intl.ListFormat) { return new Intl.ListFormat(lang(), { type: "conjunction", style: "narrow" }).format(items); }
    return items.join(", ");
  }
  /* A picture whose own shape is not its box's (a 512×512 square listed as landscape, cropped to
   * 8:5) takes its own ratio once loaded: shown whole, its labels on the picture. (The key's h/v is
   * the contract's; the file says what the picture is.) */
  function fitShape(img) {
    img.addEventListener("load", function () {
      var w = img.naturalWidth, h = img.naturalHeight, box = img.getBoundingClientRect();
      if (!w || !h || !box.width || !box.height) { return; }
      var own = w / h, shown = box.width / box.height;
      if (Math.abs(own - shown) / shown > 0.1) {
        img.style.aspectRatio = w + " / " + h;
        img.dataset.shape = w === h ? "square" : (w > h ? "landscape" : "portrait");
      }
    }, { once: true });
  }
  /* "<text> (<details>)" with the page's language's brackets (Japanese: full-width, no space). */
  function withDetails(text, details) {
    return fill(gettext("%(text)s (%(details)s)"), { text: text, details: details });
  }

  var EMOTION_NAMES = {
    HAPPY: gettext_noop("Happy"), SURPRISED: gettext_noop("Surprised"), CALM: gettext_noop("Calm"),
    ANGRY: gettext_noop("Angry"), FEAR: gettext_noop("Fear"), CONFUSED: gettext_noop("Confused"),
    DISGUSTED: gettext_noop("Disgusted"), SAD: gettext_noop("Sad")
  };
  var GENDER_LABELS = { Male: gettext_noop("male"), Female: gettext_noop("female") };
  var GENERATION_LABELS = {
    "toddler": gettext_noop("toddler"), "child": gettext_noop("child"), "teenager": gettext_noop("teenager"),
    "young-adult": gettext_noop("young adult"), "adult": gettext_noop("adult"),
    "middle-age": gettext_noop("middle age"), "elder": gettext_noop("elder")
  };
  // [response key, name]; shown when true (the original's "안경 눈뜨고있음").
  var FEATURES = [
    ["smile", gettext_noop("smiling")], ["eyeglasses", gettext_noop("eyeglasses")], ["sunglasses", gettext_noop("sunglasses")],
    ["beard", gettext_noop("beard")], ["mustache", gettext_noop("mustache")],
    ["eyesOpen", gettext_noop("eyes open")], ["mouthOpen", gettext_noop("mouth open")]
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
  /* The camera heals itself: a watchdog notices a track that ended (unplugged, stopped) or frames
   * that stopped coming, says so and asks for the camera again, then keeps asking (2 s, 4 s … 30 s)
   * while it cannot have it. ``state`` is what the screen's beat reports: starting, ok,
   * no_permission, no_device, frozen, ended or unsupported (docs/fleet.md). */
  var WATCH_MS = 1000;
  var FROZEN_MS = 5000;         // no new frame this long while the page is visible: frozen
  var RETRY_MS = [2000, 4000, 8000, 16000, 30000];

  function Camera(video, statusEl, captureButton, retryButton) {
    this.video = video;
    this.statusEl = statusEl;
    this.captureButton = captureButton;
    this.retryButton = retryButton;
    this.stream = null;
    this.state = "starting";
    this.starting = false;
    this.failures = 0;           // failed tries in a row: the wait before the next
    this.retryAt = 0;
    this.frames = -1;            // frames shown at the last watch, and since when that count holds
    this.framesSince = 0;
    var self = this;
    retryButton.addEventListener("click", function () { self.start(); });
    window.setInterval(function () { self.watch(); }, WATCH_MS);
  }

  Camera.prototype.showStatus = function (text) {
    this.statusEl.textContent = text;
    this.statusEl.hidden = !text;
  };

  /* ``quiet``: a retry by the watchdog, which keeps the message already on screen until it works. */
  Camera.prototype.start = function (quiet) {
    var self = this;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      self.state = "unsupported";
      self.showStatus(t(gettext_noop("This browser has no camera access (it needs HTTPS or localhost).")));
      self.retryButton.hidden = true;
      return Promise.resolve(false);
    }
    if (!quiet) {
      self.showStatus(t(gettext_noop("Starting the camera…")));
      self.retryButton.hidden = true;
    }
    self.starting = true;
    self.release();
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
      return firstFrame(self.video);
    }).then(function () {
      self.showStatus("");
      self.retryButton.hidden = true;
      self.captureButton.disabled = false;
      self.state = "ok";
      self.failures = 0;
      self.frames = -1;
      self.starting = false;
      return true;
    }).catch(function (err) {
      self.captureButton.disabled = true;
      self.retryButton.hidden = false;
      var denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
      self.state = denied ? "no_permission" : "no_device";
      self.showStatus(denied
        ? t(gettext_noop("Camera permission was refused. Allow the camera and press Start camera."))
        : t(gettext_noop("No camera found. Connect one and press Start camera.")));
      self.retryAt = Date.now() + RETRY_MS[Math.min(self.failures, RETRY_MS.length - 1)];
      self.failures++;
      self.starting = false;
      return false;
    });
  };

  /* Stop the tracks of the stream on screen (before asking again, so the device is free). */
  Camera.prototype.release = function () {
    if (this.stream) { this.stream.getTracks().forEach(function (track) { track.stop(); }); }
    this.stream = null;
  };

  /* Frames the camera has delivered so far: the track's own counter (whether or not the preview is
   * on screen), else the frames the video painted, which stop while it is scrolled out of view (a
   * phone's garden below the fold): then null, "no reading". */
  function framesDelivered(track, video) {
    if (track && track.stats && typeof track.stats.totalFrames === "number") { return track.stats.totalFrames; }
    var box = video.getBoundingClientRect();
    if (!box.width || box.bottom <= 0 || box.top >= window.innerHeight) { return null; }
    if (video.getVideoPlaybackQuality) { return video.getVideoPlaybackQuality().totalVideoFrames; }
    return Math.floor(video.currentTime * 10);
  }

  Camera.prototype.watch = function () {
    if (this.starting) { return; }
    var now = Date.now();
    if (this.state === "ok") {
      var track = this.stream && this.stream.getVideoTracks()[0];
      var lost = !track || track.readyState === "ended" ? "ended" : null;
      var frames = framesDelivered(track, this.video);
      // No reading, or a hidden page (no frames for it): the clock starts again.
      if (frames === null || frames !== this.frames || document.visibilityState !== "visible") { this.frames = frames; this.framesSince = now; }
      else if (!lost && now - this.framesSince > FROZEN_MS) { lost = "frozen"; }
      if (!lost && this.video.paused) { this.video.play().catch(function () { /* the next watch tries again */ }); }
      if (lost) { this.lost(lost); }
      return;
    }
    // Not working: try again when the wait is over (permission too: a kiosk policy may grant it).
    if ((this.state === "no_device" || this.state === "no_permission" || this.state === "ended" || this.state === "frozen")
        && now >= this.retryAt) {
      this.start(true);
    }
  };

  /* The camera stopped: say so at once, then ask for it again. */
  Camera.prototype.lost = function (why) {
    this.state = why;
    this.captureButton.disabled = true;
    this.showStatus(t(gettext_noop("The camera stopped. Reconnecting it…")));
    this.release();
    this.retryAt = Date.now() + RETRY_MS[0];
  };

  /* Resolves once the video has shown a frame: "loadeddata" can come before one is painted, and a
   * capture then would draw a blank canvas ("no face"). Gives up waiting after a second. */
  function firstFrame(video) {
    if (!video.requestVideoFrameCallback) { return Promise.resolve(); }
    return new Promise(function (resolve) {
      var timer = setTimeout(resolve, 1000);
      video.requestVideoFrameCallback(function () { clearTimeout(timer); resolve(); });
    });
  }

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
    var headers = { "Content-Type": "image/png", "Accept-Language": lang() };
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
    // The page's language: the API's error messages come back in it (old clients get GARDEN_LANGUAGE).
    var headers = { "Content-Type": "application/json", "Accept-Language": lang() };
    if (extraHeaders) { Object.keys(extraHeaders).forEach(function (k) { headers[k] = extraHeaders[k]; }); }
    return fetch(url, {
      method: "POST", body: JSON.stringify(body), headers: headers, credentials: "same-origin", keepalive: !!keepalive
    })
      .catch(function () { throw new KioskError("network", "network"); });
  }

  /* The expression in the visitor's words ("행복", "喜び", "Happy"); the contract's code (HAPPY) only
   * for one the page has no name for. (The emotion check page's raw JSON shows the code.) */
  function emotionLabel(upper) {
    var name = EMOTION_NAMES[upper];
    return name ? t(name) : upper;
  }

  /* "28 to 35 (female, adult)": two labels of one visitor, in one phrase per language. Not a list:
   * Korean's "및" ("여자 및 성인") would read "women and adults". */
  function ageLabel(result) {
    var range = result.ageRange || {};
    var values = { low: number(range.Low), high: number(range.High) };
    var gender = GENDER_LABELS[result.gender], generation = GENERATION_LABELS[result.generation];
    if (gender && generation) {
      values.gender = word(gender);
      values.generation = word(generation);
      return t(gettext_noop("%(low)s to %(high)s (%(gender)s, %(generation)s)"), values);
    }
    var text = t(gettext_noop("%(low)s to %(high)s"), values);
    return gender || generation ? withDetails(text, t(gender || generation)) : text;
  }

  function featureLabels(result) {
    var out = [];
    FEATURES.forEach(function (f) { if (result[f[0]] === true) { out.push(t(f[1])); } });
    return out;
  }

  function renderResult(result) {
    $("result-emotion").textContent = emotionLabel(result.emotions);
    $("result-age").textContent = ageLabel(result);
    var features = featureLabels(result);
    $("result-features").textContent = features.length ? list(features) : t(gettext_noop("none"));
    $("emotion-result").hidden = false;
  }

  function hideResult() { $("emotion-result").hidden = true; }

  /* Messages for the capture state box. */
  var CAPTURE_TEXT = {
    busy: gettext_noop("Looking at the photo…"),
    noface: gettext_noop("No face found. Look straight at the camera and try again."),
    network: gettext_noop("Network problem: the garden could not be reached. Try again."),
    http: gettext_noop("The expression service failed. Try again in a moment.")
  };

  /* Run one capture: busy → result | noface | error. Calls onResult(result) on success. */
  function captureFlow(opts) {
    var box = opts.stateBox, camera = opts.camera;
    var restoreFocus = holdFocus(camera.captureButton);
    camera.captureButton.disabled = true;
    hideResult();
    setState(box, "busy", t(CAPTURE_TEXT.busy));
    return camera.snapshot()
      .then(function (blob) { return postEmotion(blob, opts.getVisitorId()); })
      .then(function (result) {
        showResult(box, result);
        return result;
      }, function (err) {
        var kind = (err && err.kind) || "http";
        setState(box, kind === "noface" ? "noface" : "error", t(CAPTURE_TEXT[kind] || CAPTURE_TEXT.http));
        return null;
      })
      .then(function (result) {
        camera.captureButton.disabled = false;
        restoreFocus();
        return result;
      });
  }

  /* "Result: Happy" in the state box, and the result's details (also for a visit taken back). */
  function showResult(box, result) {
    var name = EMOTION_NAMES[result.emotions];
    setState(box, "ok", t(gettext_noop("Result: %(emotion)s"), { emotion: name ? word(name) : result.emotions }));
    renderResult(result);
  }

  /* A visit survives a switch of language (docs/languages.md). The switch is a form that reloads
   * the page in the new language; as it is sent, the page keeps what its visitor has (``getState()``:
   * the /emotion answer, the favorite, the likes; never a picture of the face) in this tab's
   * sessionStorage, and the reloaded page takes it back once (``takeVisit``). */
  var VISIT_KEY = "garden-visit:";

  function keepVisitOnLanguageSwitch(page, getState) {
    Array.prototype.forEach.call(document.querySelectorAll("form.language-switch"), function (form) {
      form.addEventListener("submit", function () {
        var state = getState();
        try {
          if (state) {
            window.sessionStorage.setItem(VISIT_KEY + page, JSON.stringify({ savedAt: Date.now(), state: state }));
          } else {
            window.sessionStorage.removeItem(VISIT_KEY + page);
          }
        } catch (e) { /* no storage: the visit starts over, as it did before */ }
      });
    });
  }

  /* The visit kept by the switch, if it is younger than ``maxAgeSeconds`` (the idle time: an
   * older one belongs to someone who left); null otherwise. It is taken: a reload starts over. */
  function takeVisit(page, maxAgeSeconds) {
    var saved = null;
    try {
      saved = JSON.parse(window.sessionStorage.getItem(VISIT_KEY + page) || "null");
      window.sessionStorage.removeItem(VISIT_KEY + page);
    } catch (e) { return null; }
    if (!saved || !saved.state || !(Date.now() - saved.savedAt <= maxAgeSeconds * 1000)) { return null; }
    return saved.state;
  }

  function forgetVisit(page) {
    try { window.sessionStorage.removeItem(VISIT_KEY + page); } catch (e) { /* nothing kept */ }
  }

  /* A new visitor starts in the kiosk's own language: drop the visitor's choice (the language
   * cookie set_language wrote) and go back to the page's home, its pinned prefix or the unprefixed
   * page (data-home-url, garden/languages.py). True when the page is being left. */
  function restoreLanguage() {
    var data = document.body.dataset;
    var cookie = data.languageCookie || "django_language";
    var chosen = document.cookie.split(/;\s*/).some(function (c) { return c.indexOf(cookie + "=") === 0; });
    var home = data.homeUrl || "";
    if (!chosen && (!home || home === window.location.pathname + window.location.search)) { return false; }
    document.cookie = cookie + "=; Max-Age=0; path=/; SameSite=Lax";
    window.location.replace(home || window.location.href);
    return true;
  }

  window.Kiosk = {
    $: $, setState: setState, holdFocus: holdFocus, Camera: Camera, postEmotion: postEmotion, postJSON: postJSON,
    KioskError: KioskError, captureFlow: captureFlow, renderResult: renderResult, hideResult: hideResult,
    restoreLanguage: restoreLanguage, showResult: showResult, keepVisitOnLanguageSwitch: keepVisitOnLanguageSwitch,
    takeVisit: takeVisit, forgetVisit: forgetVisit, word: word, emotionLabel: emotionLabel, EMOTION_NAMES: EMOTION_NAMES, t: t, lang: lang, number: number,
    list: list, withDetails: withDetails, fitShape: fitShape
  };
})();
