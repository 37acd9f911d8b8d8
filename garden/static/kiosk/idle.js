/* Idle reset for a kiosk used by a stream of strangers: after `seconds` without input (pointer,
 * key, touch, wheel, a changed field) a short countdown shows; any input cancels it; at zero the
 * page starts over.
 *
 *   Kiosk.IdleReset({
 *     seconds: 90,                 // 0 (or less) turns it off
 *     overlay, announce,           // the countdown element and a polite live region
 *     isBusy: fn,                  // true while a request is in flight: never start over mid-request
 *     isAtStart: fn,               // true when there is nothing to reset (no countdown then)
 *     onReset: fn                  // start over
 *   })
 *
 * The idle clock restarts on input and whenever a request finishes (`activity()`), so a visitor
 * waiting for the garden gets the full idle time once it shows. The countdown lasts 10 s, or the
 * idle time when that is shorter. Plain JavaScript, no build step. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var COUNTDOWN = 10;
  var TICK_MS = 200;
  // input/change: native pickers (e.g. iOS selects) change a value without page pointer events.
  var INPUT_EVENTS = ["pointerdown", "pointermove", "keydown", "touchstart", "wheel", "input", "change"];

  /* Idle seconds for this page: ?idle=<seconds> in the URL wins over the data attribute
   * (rendered from GARDEN_KIOSK_IDLE_SECONDS), then 90. Not a number → ignored. */
  function idleSeconds(element, search) {
    var candidates = [new URLSearchParams(search || window.location.search).get("idle"), element && element.dataset.idleSeconds];
    for (var i = 0; i < candidates.length; i++) {
      var raw = candidates[i];
      if (raw === null || raw === undefined || String(raw).trim() === "") { continue; }
      var value = Number(raw);
      if (isFinite(value) && value >= 0) { return value; }
    }
    return 90;
  }

  function IdleReset(opts) {
    this.seconds = opts.seconds;
    this.countdown = Math.min(COUNTDOWN, opts.seconds);
    this.overlay = opts.overlay;
    this.announce = opts.announce;
    this.isBusy = opts.isBusy;
    this.isAtStart = opts.isAtStart;
    this.onReset = opts.onReset;
    this.lastActivity = Date.now();
    this.countdownStart = null;   // when the countdown began; null while not counting
    this.shown = null;            // the whole seconds on display
    if (!(this.seconds > 0)) { return; }  // off
    var self = this;
    var onInput = function () { self.activity(); };
    var lastX = null, lastY = null;
    INPUT_EVENTS.forEach(function (name) {
      document.addEventListener(name, function (event) {
        if (name === "pointermove") {
          // Browsers send hover moves at the same spot when the layout changes (e.g. this
          // countdown appearing under a resting mouse): only a real move counts.
          var moved = lastX === null || Math.abs(event.clientX - lastX) + Math.abs(event.clientY - lastY) >= 4;
          lastX = event.clientX;
          lastY = event.clientY;
          if (!moved) { return; }
        }
        onInput();
      }, { capture: true, passive: true });
    });
    var keep = this.overlay.querySelector("[data-idle-continue]");
    if (keep) { keep.addEventListener("click", onInput); }
    this.timer = window.setInterval(function () { self.tick(); }, TICK_MS);
  }

  /* Input, or a request that just finished: restart the idle clock and cancel any countdown. */
  IdleReset.prototype.activity = function () {
    this.lastActivity = Date.now();
    if (this.countdownStart !== null) { this.cancel(); }
  };

  IdleReset.prototype.cancel = function () {
    this.countdownStart = null;
    this.shown = null;
    this.overlay.hidden = true;
    this.announce.textContent = "";
  };

  IdleReset.prototype.tick = function () {
    var now = Date.now();
    if (this.countdownStart === null) {
      // Nothing to reset, or a request in flight: the countdown waits (the clock keeps running).
      if (now - this.lastActivity < this.seconds * 1000 || this.isBusy() || this.isAtStart()) { return; }
      this.start(now);
    }
    var left = this.countdown - (now - this.countdownStart) / 1000;
    if (left > 0) { this.show(left); return; }
    if (this.isBusy()) { this.show(0); return; }  // wait for the request, still cancellable
    this.countdownStart = null;
    this.shown = null;
    this.overlay.hidden = true;
    this.onReset();
    this.lastActivity = Date.now();
    this.announce.textContent = K.t(gettext_noop("Started over for the next visitor."));
  };

  IdleReset.prototype.start = function (now) {
    this.countdownStart = now;
    var whole = Math.ceil(this.countdown);
    // Said once, politely; the ticking number on screen is not a live region.
    this.announce.textContent = K.t(gettext_noop("Starting over in %(seconds)s s. Touch the screen or press any key to stay."),
      { seconds: K.number(whole) });
    this.overlay.hidden = false;
  };

  IdleReset.prototype.show = function (left) {
    var whole = Math.max(1, Math.ceil(left));
    if (whole !== this.shown) {
      this.shown = whole;
      this.overlay.querySelectorAll("[data-idle-count]").forEach(function (el) { el.textContent = K.number(whole); });
    }
    var bar = this.overlay.querySelector("[data-idle-bar]");
    if (bar) { bar.style.transform = "scaleX(" + Math.max(0, Math.min(1, left / this.countdown)).toFixed(3) + ")"; }
  };

  K.IdleReset = IdleReset;
  K.idleSeconds = idleSeconds;
})();
