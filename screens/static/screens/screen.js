/* A screen's heartbeat, its commands and its self-healing (docs/fleet.md).
 *
 * The kiosk page and the signage page include screens/_beacon.html, which loads this file. Every
 * SCREENS_BEAT_SECONDS it posts the page's own state to /screens/beat (page version, language,
 * camera, outbox, its last errors, visitors served as a count, uptime, heap, screen size): never a
 * visitor id, a picture or a frame. An enrolled page (its identity in localStorage, written by the
 * enrolment page) signs each beat with HMAC-SHA256 under its device secret; an unenrolled page
 * beats under a random id of its own and is merely listed. The answer carries the commands waiting
 * for an enrolled screen (reload, start over, language, maintenance notice), which the page obeys
 * and acknowledges at once in another beat, and the server's page version: a page left behind by
 * a deploy reloads itself at its next idle moment, never in front of a visitor. So does a page in
 * a loop of errors or whose heap passed its bound. It holds a screen wake lock where it can.
 *
 * The page's script gives its hooks with GardenScreen.attach({camera, outbox, visitors, isAtStart,
 * isBusy, idleSeconds, startOver}); without them it is a page with no camera and nothing to reset.
 * Memory stays flat: fixed-size lists, one timer per job, no listener added after start.
 */
(function () {
  "use strict";
  var IDENTITY_KEY = "garden.screen.v1";          // {id, secret, name}: this browser is an enrolled screen
  var ANONYMOUS_KEY = "garden.screen.anonymous.v1"; // an unenrolled page's own random id
  var DONE_KEY = "garden.screen.done.v1";          // commands already obeyed: a reload must not repeat one
  var MAINTENANCE_KEY = "garden.screen.maintenance.v1"; // the last maintenance state heard: maintenance.js shows it at the first paint
  var MAX_ERRORS = 5;
  var MAX_TEXT = 200;
  var MAX_DONE = 20;
  var MAX_ACKS = 10;
  var ERROR_LOOP = 10;                // this many errors within ERROR_LOOP_MS: reload when idle
  var ERROR_LOOP_MS = 60000;
  var QUIET_MS = 30000;               // an idle moment: at the start, nothing in flight, no input this long
  var CHECK_MS = 1000;
  var EXTRA_BEAT_MS = 5000;
  var RETRY_MS = 1000;                // a beat carrying acknowledgements that failed is tried again this soon
  var SELF_RELOAD_KEY = "garden.screen.selfReload";
  var SELF_RELOAD_GAP_MS = 120000;
  var CAMERA_FINE = ["ok", "starting", "none"];
  var INPUT_EVENTS = ["pointerdown", "keydown", "touchstart", "wheel"];
  var UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
  var QUERY = /[?#][^\s'"()]*/g;

  function load(key) {
    try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; }
  }
  function save(key, value) {
    try {
      if (value === null) { localStorage.removeItem(key); } else { localStorage.setItem(key, JSON.stringify(value)); }
    } catch (e) { /* storage full or refused: the page goes on unenrolled */ }
  }
  function randomHex(bytes) {
    var values = crypto.getRandomValues(new Uint8Array(bytes));
    return Array.prototype.map.call(values, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }
  /* No visitor data in an error text: ids and query strings are cut, the site's address too. */
  function scrub(text) {
    return String(text || "").replace(window.location.origin, "").replace(UUID, "<id>").replace(QUERY, "").slice(0, MAX_TEXT);
  }

  var api = {
    IDENTITY_KEY: IDENTITY_KEY, ANONYMOUS_KEY: ANONYMOUS_KEY, DONE_KEY: DONE_KEY,
    identity: function () { var id = load(IDENTITY_KEY); return id && id.id && id.secret ? id : null; },
    anonymousId: function () {
      var id = load(ANONYMOUS_KEY);
      if (typeof id !== "string" || !/^[A-Za-z0-9-]{8,36}$/.test(id)) { id = randomHex(16); save(ANONYMOUS_KEY, id); }
      return id;
    },
    enrolled: function (identity) { save(IDENTITY_KEY, identity); save(ANONYMOUS_KEY, null); save(DONE_KEY, null); save(MAINTENANCE_KEY, null); },
    attach: function () {}
  };
  window.GardenScreen = api;

  var root = document.getElementById("screen-beacon");
  if (!root || !window.fetch || !window.JSON) { return; }  // the enrolment page uses the helpers only

  var started = performance.now();
  var config = root.dataset;
  var pageVersion = config.version || "";
  var heapLimit = Number(config.heapLimit) || 0;
  var languagesBlock = document.getElementById("screen-languages");
  var languages = languagesBlock ? JSON.parse(languagesBlock.textContent) : {};
  var overlay = document.getElementById("screen-maintenance");
  var hooks = {
    camera: function () { return "none"; }, outbox: function () { return null; }, visitors: function () { return 0; },
    isAtStart: function () { return true; }, isBusy: function () { return false; }, idleSeconds: function () { return 0; },
    startOver: null
  };
  var identity = api.identity();
  var anonymous = identity ? null : api.anonymousId();
  var loadId = randomHex(8);
  var interval = Math.max(1, Number(config.interval) || 15);
  var offset = 0;          // server time − this clock (ms), from the answers
  var lastTs = 0;
  var acks = [];           // acknowledgements waiting to go out (at most MAX_ACKS)
  var afterBeat = [];      // what runs once the acknowledging beat is answered (a reload, a new address)
  var sending = false;
  var again = false;
  var retryPending = false;
  var timer = null;
  var reloadReason = "";   // version | errors | heap: reload at the next idle moment
  var reloading = false;
  // Shown already by maintenance.js when the last answer before a reload said so: the first beat
  // reports it on, and the page under it is made inert below.
  var maintenance = !!overlay && !overlay.hidden;
  var lastInput = Date.now();
  var errors = [];         // the last MAX_ERRORS errors
  var errorCount = 0;
  var errorTimes = [];     // when the last ERROR_LOOP errors happened
  var wake = { sentinel: null, state: "wakeLock" in navigator ? "released" : "unsupported" };
  var keyPromise = null;
  var lastCamera = "starting";
  var lastExtra = 0;

  function uptime() { return (performance.now() - started) / 1000; }

  /* ---------- errors ---------- */
  function noteError(message, source) {
    errorCount++;
    if (errors.length >= MAX_ERRORS) { errors.shift(); }
    errors.push({ at: Math.round(uptime() * 10) / 10, message: scrub(message), source: scrub(source) });
    var now = Date.now();
    if (errorTimes.length >= ERROR_LOOP) { errorTimes.shift(); }
    errorTimes.push(now);
    if (errorTimes.length >= ERROR_LOOP && now - errorTimes[0] <= ERROR_LOOP_MS) { wantReload("errors"); }
  }
  window.addEventListener("error", function (event) {
    noteError(event.message || "error", (event.filename || "") + ":" + (event.lineno || 0));
  });
  window.addEventListener("unhandledrejection", function (event) {
    var reason = event.reason;
    noteError(reason && reason.message ? reason.message : String(reason), "unhandledrejection");
  });

  /* ---------- signing: Web Crypto where the page is a secure context, else hmac.js ---------- */
  function sign(message) {
    var bytes = new TextEncoder().encode(message);
    var keyBytes = new TextEncoder().encode(identity.secret);
    if (window.crypto && crypto.subtle && window.isSecureContext) {
      keyPromise = keyPromise || crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      return keyPromise.then(function (key) { return crypto.subtle.sign("HMAC", key, bytes); })
        .then(function (mac) { return window.GardenHmac.hex(new Uint8Array(mac)); });
    }
    return Promise.resolve(window.GardenHmac.hex(window.GardenHmac.hmacSha256(keyBytes, bytes)));
  }

  /* ---------- the beat ---------- */
  function heap() {
    var memory = performance.memory;
    return memory ? { used: memory.usedJSHeapSize, limit: memory.jsHeapSizeLimit } : null;
  }

  function body(outgoing) {
    var memory = heap();
    if (memory && heapLimit && memory.used > heapLimit) { wantReload("heap"); }
    return JSON.stringify({
      kind: config.kind || "kiosk", page: scrub(window.location.pathname), version: pageVersion,
      language: document.documentElement.lang || "", interval: interval, load: loadId,
      uptime: Math.round(uptime() * 10) / 10, camera: hooks.camera(), outbox: hooks.outbox(),
      errors: errors, errorCount: errorCount, visitors: hooks.visitors(), heap: memory,
      screen: { width: window.innerWidth, height: window.innerHeight, dpr: window.devicePixelRatio || 1 },
      wakeLock: wake.state, maintenance: maintenance, reload: reloadReason, acks: outgoing
    });
  }

  function post(text) {
    var headers = { "Content-Type": "application/json" };
    if (!identity) {
      headers["X-Screen-Anonymous"] = anonymous;
      return fetch(config.beatUrl, { method: "POST", body: text, headers: headers, credentials: "omit", cache: "no-store" });
    }
    var ts = Math.max(Math.round(Date.now() + offset), lastTs + 1);
    lastTs = ts;
    return sign(identity.id + "\n" + ts + "\n" + text).then(function (signature) {
      headers["X-Screen"] = String(identity.id);
      headers["X-Screen-Time"] = String(ts);
      headers["X-Screen-Signature"] = signature;
      return fetch(config.beatUrl, { method: "POST", body: text, headers: headers, credentials: "omit", cache: "no-store" });
    });
  }

  function beat() {
    if (sending) { again = true; return; }
    window.clearTimeout(timer);
    sending = true;
    again = false;
    var outgoing = acks.splice(0, MAX_ACKS);
    var waiting = afterBeat.splice(0, afterBeat.length);
    var delay = interval * 1000;
    keepAwake();  // asked again while it is not held (a refused request may be granted later)
    post(body(outgoing)).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (typeof answer.now === "number") { offset = answer.now - Date.now(); }
        if (response.ok) { apply(answer); return; }
        if (answer.code === "unknown_screen" || answer.code === "bad_signature") {
          forget();  // enrolled again elsewhere, or deleted: carry on as an unenrolled page
        } else if (answer.code === "stale") {
          delay = 1000;  // the clock is corrected now
        }
        if (response.status >= 500 || answer.code === "stale") { retry(outgoing); }
        if (response.status === 429) { acks = outgoing.concat(acks).slice(0, MAX_ACKS); }  // at the next beat
      });
    }, function () {
      retry(outgoing);  // the server is away: say it again
    }).then(function () {
      sending = false;
      waiting.forEach(function (fn) { fn(); });
      schedule(retryPending ? Math.min(delay, RETRY_MS) : again ? 0 : delay);
      retryPending = false;
    });
  }

  /* Acknowledgements a failed beat carried go out again, soon: a command waits on them. */
  function retry(outgoing) {
    if (!outgoing.length) { return; }
    acks = outgoing.concat(acks).slice(0, MAX_ACKS);
    again = true;
    retryPending = true;
  }

  function schedule(ms) {
    window.clearTimeout(timer);
    timer = window.setTimeout(beat, ms);
  }

  function forget() {
    save(IDENTITY_KEY, null);
    save(MAINTENANCE_KEY, null);
    identity = null;
    anonymous = api.anonymousId();
    keyPromise = null;
  }

  /* ---------- answers and commands ---------- */
  function apply(answer) {
    if (answer.interval > 0) { interval = Math.max(1, Number(answer.interval)); }
    if (pageVersion && answer.version && answer.version !== pageVersion) { wantReload("version"); }
    setMaintenance(!!answer.maintenance);
    (answer.commands || []).forEach(obey);
  }

  function done(id) { var list = load(DONE_KEY); return Array.isArray(list) && list.indexOf(id) >= 0; }
  function markDone(id) {
    var list = load(DONE_KEY);
    list = Array.isArray(list) ? list : [];
    list.push(id);
    save(DONE_KEY, list.slice(-MAX_DONE));
  }

  /* Acknowledge at once (another beat now); ``then`` runs once that beat is answered. */
  function ack(id, ok, detail, then) {
    acks.push({ id: id, ok: ok, detail: String(detail || "").slice(0, MAX_TEXT) });
    if (acks.length > MAX_ACKS) { acks.shift(); }
    if (then) { afterBeat.push(then); }
    again = true;
  }

  function obey(command) {
    if (done(command.id)) { ack(command.id, true, "done before this page loaded"); return; }
    markDone(command.id);
    switch (command.kind) {
      case "reload":
        ack(command.id, true, "", function () { reloadNow(false); });
        break;
      case "start_over":
        if (hooks.startOver) { hooks.startOver(); ack(command.id, true, ""); } else { ack(command.id, true, "reloaded", function () { reloadNow(false); }); }
        break;
      case "language":
        if (languages[command.argument]) {
          var target = languages[command.argument];
          ack(command.id, true, "", function () { window.location.assign(target); });
        } else {
          ack(command.id, false, "no address for language " + command.argument);
        }
        break;
      case "maintenance_on":
      case "maintenance_off":
        // The answer's own state was applied first: a later command may already have turned it back.
        ack(command.id, true, maintenance ? "notice shown" : "notice hidden");
        break;
      default:
        ack(command.id, false, "unknown command " + command.kind);
    }
  }

  /* The calm full-screen notice; the page under it cannot be reached meanwhile. */
  function setMaintenance(on) {
    if (!overlay) { return; }
    if (identity) { save(MAINTENANCE_KEY, on ? true : null); }  // shown again from the first paint after a reload
    if (on === maintenance) { return; }
    maintenance = on;
    if (on && hooks.startOver) { hooks.startOver(); }  // the next person starts fresh afterwards
    showMaintenance(on);
  }

  function showMaintenance(on) {
    overlay.hidden = !on;
    document.documentElement.classList.toggle("screen-maintenance-on", on);
    Array.prototype.forEach.call(document.body.children, function (child) {
      if (child !== overlay && child.tagName !== "SCRIPT" && child.tagName !== "LINK") { child.inert = on; }
    });
  }

  /* ---------- reloads: only once the page itself answers (else a broken page would replace a working one) ---------- */
  function wantReload(reason) { if (!reloadReason) { reloadReason = reason; } }

  function reloadNow(bySelf) {
    if (reloading) { return; }
    reloading = true;
    fetch(window.location.href, { cache: "no-store", credentials: "same-origin" }).then(function (page) {
      if (!page.ok) { reloading = false; return; }
      if (bySelf) { try { sessionStorage.setItem(SELF_RELOAD_KEY, String(Date.now())); } catch (e) { /* no storage: no guard */ } }
      window.location.reload();
    }, function () { reloading = false; });
  }

  /* A page that reloads itself and comes back with the same trouble (errors at load, a heap bound
   * below its own size) would reload at every idle moment: once per SELF_RELOAD_GAP_MS at most. */
  function selfReloadAllowed() {
    var last = 0;
    try { last = Number(sessionStorage.getItem(SELF_RELOAD_KEY)) || 0; } catch (e) { last = 0; }
    return Date.now() - last >= SELF_RELOAD_GAP_MS;
  }

  function idleMoment() {
    if (maintenance) { return true; }
    var idleMs = hooks.idleSeconds() * 1000;
    var quiet = idleMs > 0 ? Math.min(QUIET_MS, idleMs) : QUIET_MS;
    return hooks.isAtStart() && !hooks.isBusy() && Date.now() - lastInput >= quiet;
  }

  /* Every second: reload if due and idle; a camera that just went wrong is reported at once
   * (one extra beat at most every EXTRA_BEAT_MS, so a flapping camera cannot exhaust the throttle). */
  function check() {
    if (reloadReason && idleMoment() && selfReloadAllowed()) { reloadNow(true); }
    var camera = hooks.camera();
    if (camera !== lastCamera) {
      lastCamera = camera;
      if (identity && CAMERA_FINE.indexOf(camera) < 0 && Date.now() - lastExtra >= EXTRA_BEAT_MS) {
        lastExtra = Date.now();
        if (sending) { again = true; } else { schedule(0); }
      }
    }
  }

  /* ---------- wake lock: the display must not sleep (re-asked when the page shows again) ---------- */
  function keepAwake() {
    if (!("wakeLock" in navigator) || wake.sentinel || document.visibilityState !== "visible") { return; }
    navigator.wakeLock.request("screen").then(function (sentinel) {
      wake.sentinel = sentinel;
      wake.state = "held";
      sentinel.addEventListener("release", function () { wake.sentinel = null; wake.state = "released"; }, { once: true });
    }, function () { wake.state = "refused"; });
  }

  api.attach = function (given) {
    Object.keys(given).forEach(function (name) { if (given[name]) { hooks[name] = given[name]; } });
  };
  api.state = function () {
    return { enrolled: !!identity, maintenance: maintenance, reload: reloadReason, interval: interval, wakeLock: wake.state };
  };

  INPUT_EVENTS.forEach(function (name) {
    document.addEventListener(name, function () { lastInput = Date.now(); }, { capture: true, passive: true });
  });
  document.addEventListener("visibilitychange", keepAwake);
  if (maintenance) { showMaintenance(true); }  // restored by maintenance.js: nothing under it reachable
  keepAwake();
  window.setInterval(check, CHECK_MS);
  // An enrolled screen shows up at once; an unenrolled page is merely listed, after one interval.
  schedule(identity ? Math.min(1000, interval * 1000) : interval * 1000);
})();
