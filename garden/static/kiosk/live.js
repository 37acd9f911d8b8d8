/* The live picture (docs/kiosk.md#the-live-picture): one picture painted now for the visitor in
 * front of the kiosk. POST /live answers 202 with a status URL; the page shows its own tile
 * before the curated pictures, with a progress bar while it paints (a long poll of the status URL:
 * the server answers as soon as the job changes, and the tile asks again at once), then
 * the picture with its AI-generated label and a visible "Painted for you" badge in the visitor's
 * language (garden.js adds the Like button). A second picture (from a liked one) paints under the
 * picture on screen, which stays until the new one is ready. A refusal, a failed,
 * cancelled or withheld job, or a network error: no tile and no error text, since the curated
 * garden is the kiosk and this is a bonus. The visitor leaving cancels the job (DELETE, keepalive).
 *
 *   var live = new Kiosk.Live({
 *     url,                         // data-live-url ("" or absent: off, nothing is asked)
 *     tile, row, announce,         // the tile, the pictures' row (data-live while it shows), a polite live region
 *     orientation: fn,             // "landscape" or "portrait": the tile's shape follows the garden's
 *     decorate: fn(figure, img, key), // the Like button (and QR code) under the picture
 *     onShown: fn(key | null)      // the picture on screen changed
 *   });
 *   live.request(visitorId, searchKey, fromKey?); live.cancel(); live.key();
 *   live.keep() → kept; live.pause(); live.resume(kept)   // across a language switch (garden.js)
 */
(function () {
  "use strict";
  var K = window.Kiosk;
  // The status URL's long poll (GET /live/<uuid>?wait=): answered as soon as the job's status or
  // progress changes, else after WAIT_S (the server caps it at GARDEN_LIVE_WAIT_SECONDS). After a lost
  // poll the tile waits RETRY_MS before asking again.
  var WAIT_S = 10, RETRY_MS = 500;
  var MAX_WAIT_MS = 60000;      // a picture not painted by then is given up (and its job cancelled)
  var MAX_POLL_FAILURES = 3;    // consecutive polls lost (network, 5xx) before giving up
  var CANCEL_RETRIES = 2;
  var UNFINISHED = { queued: true, running: true };

  function Live(opts) {
    this.url = opts.url || "";
    this.tile = opts.tile;
    this.row = opts.row;
    this.announce = opts.announce;
    this.orientation = opts.orientation;
    this.decorate = opts.decorate;
    this.onShown = opts.onShown;
    this.ticket = 0;        // guards against answers for a job that is no longer wanted
    this.job = null;        // {statusUrl, status, since}: the job being painted or last painted
    this.picture = null;    // the last painted image: {url, key, emotion}
    this.shown = null;      // the key of the picture on screen, if one is
    this.timer = null;
  }

  /* The key of the painted picture on screen, or null (part of the screen's impression). */
  Live.prototype.key = function () { return this.shown; };

  /* Ask for a picture for this visitor and search key ("happy" or "happy/spring,sunny,day"),
   * painted from the garden image ``from`` when given. A picture already on screen stays while the
   * new one paints (its progress under it), and stays if the new one cannot be painted. */
  Live.prototype.request = function (visitorId, emotion, from) {
    if (!this.url) { return; }
    var self = this;
    var ticket = this.stop();
    cancelJob(this.job);  // one job per visitor: an older one still painting is not wanted
    var body = { id: visitorId, emotion: emotion };
    if (from) { body.from = from; }
    K.postJSON(this.url, body).then(function (response) {
      if (response.status !== 202) { explain(response); return null; }
      return response.json().then(function (answer) {
        if (!answer || !answer.statusUrl) { return null; }
        var job = { statusUrl: answer.statusUrl, status: answer.status || "queued", since: Date.now(), polls: 0 };
        if (ticket !== self.ticket) { cancelJob(job); return null; }  // the visitor left meanwhile
        return job;
      });
    }).catch(function () { return null; }).then(function (job) {
      if (ticket !== self.ticket) { return; }
      if (!job) { self.giveUp(); return; }
      self.job = job;
      self.painting(0);
      self.announce.textContent = self.shown
        ? K.t(gettext_noop("Painting another picture from the one you liked…"))
        : K.t(gettext_noop("Painting a picture for you…"));
      self.later(ticket, 0, 0);
    });
  };

  /* The visitor left (idle reset, New visitor, a new capture, the page closing): cancel the job if
   * it is still painting, and remove the tile. */
  Live.prototype.cancel = function () {
    this.stop();
    cancelJob(this.job);
    this.job = null;
    this.picture = null;
    this.clear();
    this.announce.textContent = "";
  };

  /* What a language switch keeps of the live picture (the page reloads in the other language): the
   * picture on screen and the job still painting, never a photo. null: nothing to keep. */
  Live.prototype.keep = function () {
    var job = this.job && UNFINISHED[this.job.status] ? { statusUrl: this.job.statusUrl, status: this.job.status, since: this.job.since } : null;
    return this.picture || job ? { picture: this.picture, job: job } : null;
  };

  /* The page is left for itself in another language: stop polling, but the job goes on painting. */
  Live.prototype.pause = function () { this.stop(); };

  /* The reloaded page takes back what ``keep`` kept: the picture on screen again, and the job still
   * painting polled again (within its first MAX_WAIT_MS, as before the switch). */
  Live.prototype.resume = function (kept) {
    if (!this.url || !kept) { return; }
    var ticket = this.stop();
    var picture = kept.picture;
    if (picture && picture.url && picture.key) {
      this.picture = { url: picture.url, key: picture.key, emotion: picture.emotion };
      this.show(this.picture);
    }
    var job = kept.job;
    if (job && job.statusUrl && UNFINISHED[job.status]) {
      this.job = { statusUrl: job.statusUrl, status: job.status, since: Number(job.since) || Date.now(), polls: 0 };
      this.painting(0);
      this.announce.textContent = this.shown
        ? K.t(gettext_noop("Painting another picture from the one you liked…"))
        : K.t(gettext_noop("Painting a picture for you…"));
      this.later(ticket, 0, 0);
    }
  };

  /* Stop polling and make every answer still on its way stale; the new ticket. */
  Live.prototype.stop = function () {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    return ++this.ticket;
  };

  /* The next long poll after ``delay`` ms (0: at once, the server does the waiting). */
  Live.prototype.later = function (ticket, failures, delay) {
    var self = this;
    this.job.polls++;
    this.timer = setTimeout(function () { self.timer = null; self.poll(ticket, failures); }, delay);
  };

  Live.prototype.poll = function (ticket, failures) {
    var self = this, job = this.job;
    var left = MAX_WAIT_MS - (Date.now() - job.since);
    if (left <= 0) { cancelJob(job); this.giveUp(); return; }
    var wait = Math.max(0, Math.min(WAIT_S, Math.floor(left / 1000)));
    var url = job.statusUrl + (job.statusUrl.indexOf("?") < 0 ? "?" : "&") + "wait=" + wait;
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept-Language": K.lang() } })
      .then(function (response) {
        if (!response.ok) { return { lost: response.status >= 500 || response.status === 429 }; }
        return response.json();
      }, function () { return { lost: true }; })
      .then(function (answer) {
        if (ticket !== self.ticket) { return; }
        if (answer.lost) {
          if (failures + 1 >= MAX_POLL_FAILURES) { cancelJob(job); self.giveUp(); } else { self.later(ticket, failures + 1, RETRY_MS); }
          return;
        }
        job.status = answer.status;
        var image = answer.image;
        if (answer.status === "succeeded" && image && image.url && image.key) { self.paint(ticket, image); return; }
        if (!UNFINISHED[answer.status]) { self.giveUp(); return; }  // failed, cancelled, withheld, 4xx
        self.painting(Number(answer.progress) || 0);
        self.later(ticket, 0, 0);
      })
      .catch(function (err) {
        // An answer that is not the contract's JSON: treat it like a failed job.
        console.warn("kiosk live picture: unreadable status answer", err);
        if (ticket === self.ticket) { self.giveUp(); }
      });
  };

  /* No new picture: the one shown before (if any) stays, else no tile. Nothing is said. */
  Live.prototype.giveUp = function () {
    this.stop();
    this.announce.textContent = "";
    if (this.picture) { this.show(this.picture); } else { this.clear(); }
  };

  /* No live picture (503: no live model, no worker…; 409: it would be withheld): the tile stays
   * empty for the visitor, and the server's reason and fix go to the console, once per reason,
   * where whoever sets the kiosk up looks. */
  var told = {};
  function explain(response) {
    if (response.status !== 503 && response.status !== 409) { return; }
    response.json().then(function (answer) {
      var reason = answer && answer.reason;
      if (!reason || told[reason]) { return; }
      told[reason] = true;
      console.warn("kiosk live picture: none painted (" + reason + "): " + (answer.detail || ""));
    }, function () {});
  }

  /* The tile while it paints: a caption and a progress bar (0–1 from the status answer); with a
   * picture on screen (a second one, from a liked picture), the two go under it and it stays. */
  Live.prototype.painting = function (progress) {
    var percent = Math.round(Math.max(0, Math.min(1, progress)) * 100);
    var bar = this.tile.querySelector("progress");
    if (!bar) {
      var under = !!this.shown;
      if (!under) { this.clear(); }
      var canvas = document.createElement("div");
      canvas.className = under ? "live-canvas live-next" : "live-canvas";
      var caption = document.createElement("p");
      caption.className = "live-caption";
      caption.id = "live-caption";
      caption.textContent = under
        ? K.t(gettext_noop("Painting another picture from the one you liked…"))
        : K.t(gettext_noop("Painting a picture for you…"));
      bar = document.createElement("progress");
      bar.max = 100;
      bar.setAttribute("aria-labelledby", caption.id);
      canvas.appendChild(caption);
      canvas.appendChild(bar);
      this.tile.appendChild(canvas);
      this.reveal();
    }
    bar.value = percent;
  };

  /* Load the painted picture first, so the tile never shows a broken or half-loaded image. */
  Live.prototype.paint = function (ticket, image) {
    var self = this;
    var probe = new window.Image();
    probe.onload = function () {
      if (ticket !== self.ticket) { return; }
      self.picture = { url: image.url, key: image.key, emotion: image.emotion };
      self.show(self.picture);
      self.announce.textContent = K.t(gettext_noop("A picture painted for you is ready."));
    };
    probe.onerror = function () { if (ticket === self.ticket) { self.giveUp(); } };
    probe.src = image.url;
  };

  /* The tile with the picture, its AI-generated label and (from garden.js) its Like button. */
  Live.prototype.show = function (picture) {
    this.tile.innerHTML = "";
    var figure = document.createElement("figure");
    var frame = document.createElement("div");
    frame.className = "ai-labelled";
    var img = document.createElement("img");
    img.id = "live-picture";
    K.fitShape(img);
    img.src = picture.url;
    img.alt = describe(picture);
    img.dataset.key = picture.key;
    frame.appendChild(img);
    frame.appendChild(window.AiLabel.badge());
    // Said on screen, not only in the alt text and the outline: this one was painted for the visitor.
    var badge = document.createElement("span");
    badge.className = "live-badge";
    badge.setAttribute("aria-hidden", "true");  // the alt text says it ("…, painted just for you")
    badge.textContent = K.t(gettext_noop("Painted for you"));
    frame.appendChild(badge);
    figure.appendChild(frame);
    this.tile.appendChild(figure);
    this.decorate(figure, img, picture.key);
    this.reveal();
    this.shown = picture.key;
    this.onShown(picture.key);
  };

  Live.prototype.reveal = function () {
    this.tile.dataset.orientation = this.orientation();
    this.tile.hidden = false;
    this.row.dataset.live = "";
  };

  Live.prototype.clear = function () {
    var had = this.shown;
    this.shown = null;
    this.tile.innerHTML = "";
    this.tile.hidden = true;
    delete this.row.dataset.live;
    if (had) { this.onShown(null); }
  };

  /* The picture's alt text, the AI-generated label's words first (ai_label.js). Its key is a pool
   * key (imgPool/…): garden.js takes it from the status answer, not from the URL. */
  function describe(picture) {
    var upper = String(picture.emotion || "").toUpperCase();
    var mood = K.EMOTION_NAMES[upper] ? K.word(K.EMOTION_NAMES[upper], true) : upper;
    return window.AiLabel.text() + ": " + K.t(gettext_noop("garden painting for a %(mood)s mood, painted just for you"), { mood: mood });
  }

  /* DELETE an unfinished job; it outlives the page (keepalive), e.g. at the idle reset's reload.
   * Lost to the network or a 5xx, it is sent again a second later, twice at most, while the page lives. */
  function cancelJob(job, attempt) {
    attempt = attempt || 0;
    if (!job || (!attempt && !UNFINISHED[job.status])) { return; }
    job.status = "cancelled";
    fetch(job.statusUrl, { method: "DELETE", keepalive: true, credentials: "same-origin", headers: { "Accept-Language": K.lang() } })
      .then(function (response) { return response.status < 500 && response.status !== 429; }, function () { return false; })
      .then(function (done) {
        if (!done && attempt < CANCEL_RETRIES) { setTimeout(function () { cancelJob(job, attempt + 1); }, 1000); }
      });
  }

  K.Live = Live;
})();
