/* The kiosk outbox: likes, undos and impressions survive a network drop (docs/kiosk.md).
 * Each event gets an Idempotency-Key when the visitor acts and waits in localStorage until the
 * server accepts it, so a resend after a lost answer is stored once (docs/api.md). */
(function () {
  "use strict";

  var STORAGE_KEY = "garden.kiosk.outbox.v1";
  var FIRST_DELAY_MS = 1000;
  var MAX_DELAY_MS = 60000;
  // Answers worth waiting for: the server (or a proxy in front of it) may take the event later.
  // A network failure (fetch rejects) is waited out too.
  var RETRY_STATUSES = { 408: true, 409: true, 429: true, 502: true, 503: true, 504: true };

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    // crypto.randomUUID needs a secure context; a kiosk on a plain-HTTP LAN name still needs unique keys.
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  /* Seconds or an HTTP date; null when absent or unreadable. */
  function retryAfterMs(response) {
    var value = response.headers.get("Retry-After");
    if (!value) { return null; }
    if (/^\s*\d+\s*$/.test(value)) { return parseInt(value, 10) * 1000; }
    var at = Date.parse(value);
    return isNaN(at) ? null : Math.max(0, at - Date.now());
  }

  /* opts: maxAgeSeconds, maxEvents, send(url, body, headers) → Promise<Response> (rejects on network failure). */
  function Outbox(opts) {
    this.maxAgeMs = opts.maxAgeSeconds * 1000;
    this.maxEvents = opts.maxEvents;
    this.send = opts.send;
    this.sending = false;
    this.failures = 0;   // consecutive failed attempts: the backoff's exponent
    this.timer = null;
    this.delivered = {};  // event key → what to do once the server took it (this page only)
    var self = this;
    window.addEventListener("online", function () { self.flush(true); });
    // Another tab of the same kiosk wrote the outbox: pick its events up too.
    window.addEventListener("storage", function (event) { if (event.key === STORAGE_KEY) { self.flush(); } });
  }

  Outbox.prototype.load = function () {
    try {
      var events = JSON.parse(localStorage.getItem(STORAGE_KEY) || "[]");
      return Array.isArray(events) ? events : [];
    } catch (e) {
      return [];
    }
  };

  Outbox.prototype.save = function (events) {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(events));
    } catch (e) {
      console.warn("kiosk outbox: could not store the outbox", e);
    }
  };

  /* Keep one event; it is sent in order after those already waiting. ``onDelivered`` runs once the
   * server took it (2xx), if this page is still open then. */
  Outbox.prototype.add = function (url, body, onDelivered) {
    var events = this.load();
    var key = newKey();
    if (onDelivered) { this.delivered[key] = onDelivered; }
    events.push({ key: key, url: url, body: body, at: Date.now() });
    while (events.length > this.maxEvents) {
      console.warn("kiosk outbox: full, dropping the oldest event", events.shift());
    }
    this.save(events);
    this.flush();
  };

  /* How many events wait and how long the oldest has waited (s): the screen's beat reports it. */
  Outbox.prototype.stats = function () {
    var events = this.load();
    return { length: events.length, oldest: events.length ? Math.max(0, (Date.now() - events[0].at) / 1000) : 0 };
  };

  Outbox.prototype.remove = function (key) {
    this.save(this.load().filter(function (event) { return event.key !== key; }));
  };

  /* Send the waiting events one at a time, oldest first (an undo follows its like). ``now`` skips
   * the backoff (the browser says it is back online). */
  Outbox.prototype.flush = function (now) {
    var self = this;
    if (now && self.timer) { clearTimeout(self.timer); self.timer = null; self.failures = 0; }
    if (self.sending || self.timer) { return; }
    var events = self.load();
    var cutoff = Date.now() - self.maxAgeMs;
    var fresh = events.filter(function (event) { return event.at >= cutoff; });
    if (fresh.length !== events.length) {
      console.warn("kiosk outbox: dropping " + (events.length - fresh.length) + " event(s) older than the limit");
      self.save(fresh);
    }
    var event = fresh[0];
    if (!event) { return; }
    self.sending = true;
    // Resolves with null once the event is settled, else with the wait before the next attempt.
    self.send(event.url, event.body, { "Idempotency-Key": event.key }).then(function (response) {
      if (RETRY_STATUSES[response.status]) {
        return retryAfterMs(response) || self.backoff();
      }
      if (!response.ok) {
        // Any other refusal (a 4xx, a 500) would come back every time: kept, it would block every
        // event behind it.
        console.error("kiosk outbox: " + event.url + " refused with " + response.status + "; dropped", event);
      } else if (self.delivered[event.key]) {
        try { self.delivered[event.key](); } catch (e) { console.error("kiosk outbox: after delivery", e); }
      }
      delete self.delivered[event.key];
      return null;
    }, function () {
      return self.backoff();
    }).then(function (waitMs) {
      self.sending = false;
      if (waitMs === null) {
        self.failures = 0;
        self.remove(event.key);
        self.flush();
        return;
      }
      self.timer = setTimeout(function () { self.timer = null; self.flush(); }, waitMs);
    });
  };

  /* 1 s, 2 s, 4 s … up to a minute, with jitter so a hall of kiosks does not resend in step. */
  Outbox.prototype.backoff = function () {
    this.failures++;
    var delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * Math.pow(2, this.failures - 1));
    return delay * (0.75 + Math.random() / 2);
  };

  window.Kiosk = window.Kiosk || {};
  window.Kiosk.Outbox = Outbox;
})();
