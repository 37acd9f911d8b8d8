/* The emotion garden kiosk: capture → /emotion → /garden, three images at a time, likes, and a
 * picture painted live for the visitor (live.js). Talks only to the public APIs: POST /emotion,
 * /garden, /like, /dislike, /impression, /live. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var t = K.t;
  var PAGE = 3;
  var FAVORITE_IDS = ["favorite-season", "favorite-weather", "favorite-time"];

  var visitor = null;          // {id, emotion (lower case), generation, gender}
  var result = null;           // the visitor's /emotion answer (kept across a language switch)
  var lists = { landscape: [], portrait: [] };
  var recommendationId = null; // X-Recommendation-Id of the last /garden response, if any
  var gardenKey = "";          // the search key the lists on screen answer
  var start = 0;               // index of the first image on screen
  var liked = {};              // key → true, for this visitor
  var askedFrom = false;       // a live picture from a liked one was asked for (once per visitor)
  var gardenRequest = 0;       // guards against stale /garden responses
  var inflight = 0;            // capture and garden requests still on their way
  var resetPending = false;    // start over as soon as no request is in flight
  var idle = null;             // the idle reset (Kiosk.IdleReset), if on
  var served = 0;              // visitors served since the page loaded (a count for the screen's beat)

  var portraitQuery = window.matchMedia("(orientation: portrait)");
  var camera = new K.Camera(K.$("camera"), K.$("camera-status"), K.$("capture-button"), K.$("camera-retry"));
  var gardenEl = K.$("garden");
  var gardenState = K.$("garden-state");
  var nextButton = K.$("next-button");
  var positionEl = K.$("garden-position");
  var qrUrl = K.$("kiosk").dataset.qrUrl;  // GET /image/qr?content=<key>: the share page's QR code
  var codeUrl = K.$("kiosk").dataset.codeUrl;  // GET /kiosk/visitor-code?id=<id>: the code for a deletion request
  var codeBox = K.$("visitor-code");
  var liveTile = K.$("live-tile");
  var live = new K.Live({  // data-live-url is absent when GARDEN_LIVE_ENABLED is off
    url: K.$("kiosk").dataset.liveUrl, tile: liveTile, row: K.$("garden-pictures"), announce: K.$("live-announce"),
    orientation: function () { return gardenEl.hidden ? orientation() : gardenEl.dataset.orientation; },
    decorate: likeControls, onShown: liveShown
  });
  // Per kiosk, not per visitor: New visitor and the idle reset leave it alone (docs/kiosk.md).
  var outbox = new K.Outbox({
    maxAgeSeconds: Number(K.$("kiosk").dataset.outboxMaxAge) || 86400,
    maxEvents: Number(K.$("kiosk").dataset.outboxMaxEvents) || 500,
    send: function (url, body, headers) { return K.postJSON(url, body, headers, true); }
  });

  /* The key of an image is the tail of its URL (docs/contracts.md: url.lastIndexOf('emotions')). */
  function keyFromUrl(url) { return url.slice(url.lastIndexOf("emotions")); }

  function orientation() { return portraitQuery.matches ? "portrait" : "landscape"; }

  /* The list to show: the screen's orientation; the other one only if that is empty. */
  function currentList() {
    var mine = lists[orientation()];
    if (mine.length) { return mine; }
    return orientation() === "portrait" ? lists.landscape : lists.portrait;
  }

  function shownItems() { return currentList().slice(start, start + PAGE); }

  /* Exactly the keys on screen (one, two or three, and the live picture's): the impression of a like. */
  function impressionKeys() {
    var keys = shownItems().map(function (item) { return keyFromUrl(item.url); });
    return live.key() ? [live.key()].concat(keys) : keys;
  }

  function favoriteValue() {
    var parts = FAVORITE_IDS.map(function (id) { return K.$(id).value; });
    var chosen = parts.filter(Boolean).length;
    var error = K.$("favorite-error");
    if (chosen > 0 && chosen < 3) {
      error.textContent = t(gettext_noop("Pick a season, a weather and a time, or set all three to “Any”."));
      error.hidden = false;
      return null;
    }
    error.hidden = true;
    return chosen === 3 ? parts.join(",") : "";
  }

  function searchKey() {
    var favorite = favoriteValue();
    if (favorite === null || !visitor) { return null; }
    return favorite ? visitor.emotion + "/" + favorite : visitor.emotion;
  }

  function clearGarden() {
    reportUnlikedScreen();
    lists = { landscape: [], portrait: [] };
    recommendationId = null;
    start = 0;
    gardenEl.innerHTML = "";
    gardenEl.hidden = true;
    showNext(false);
    positionEl.textContent = "";
  }

  /* The favorite part of a key (docs/contracts.md: emotions/<emotion>/[<favorite>/]img_….jpeg): "" if none. */
  function keyFavorite(key) {
    var parts = key.split("/");
    return parts.slice(2, -1).join("/");
  }

  /* A favorite ("spring,sunny,day") in the picker's words; a part the picker lacks (older data's
   * single words, e.g. "cat") as written, dashes as spaces. */
  function favoriteWords(favorite) {
    return K.list(favorite.split(",").filter(Boolean).map(function (part) {
      for (var i = 0; i < FAVORITE_IDS.length; i++) {
        var option = K.$(FAVORITE_IDS[i]).querySelector('option[value="' + CSS.escape(part) + '"]');
        if (option) { return option.textContent.trim(); }
      }
      return part.replace(/-/g, " ");
    }));
  }

  /* The picture's alt text names what its own key holds: with too few pictures for the chosen
   * favorite, /garden adds the emotion's pictures of other favorites (docs/recommendation.md). */
  function describe(item, n, total) {
    var upper = (item.emotion || visitor.emotion || "").toUpperCase();
    var mood = K.EMOTION_NAMES[upper] ? K.word(K.EMOTION_NAMES[upper], true) : upper;
    var scene = favoriteWords(keyFavorite(keyFromUrl(item.url)));
    var picture = t(gettext_noop("garden painting for a %(mood)s mood"), { mood: mood });
    if (scene) { picture = interpolate(gettext("%(picture)s, %(scene)s"), { picture: picture, scene: scene }, true); }
    return window.AiLabel.text() + ": " + K.withDetails(picture, t(gettext_noop("%(n)s of %(total)s"), { n: K.number(n), total: K.number(total) }));
  }

  function likeLabel(button, key) {
    var on = !!liked[key];
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.querySelector(".like-icon").textContent = on ? "♥" : "♡";
    button.querySelector(".like-text").textContent = t(on ? gettext_noop("Liked") : gettext_noop("Like"));
  }

  /* A liked image shows a QR code to its share page (GET /image), so a visitor can take it home
   * on a phone; undoing the like removes it. */
  function shareCode(figure, key) {
    var existing = figure.querySelector(".share-qr");
    if (!liked[key]) {
      if (existing) { existing.remove(); }
      return;
    }
    if (existing) { return; }
    var box = document.createElement("figcaption");
    box.className = "share-qr";
    var code = document.createElement("img");
    code.src = qrUrl + "?content=" + encodeURIComponent(key);
    code.alt = t(gettext_noop("QR code to this image's page"));
    var hint = document.createElement("span");
    hint.textContent = t(gettext_noop("Scan to take it home"));
    box.appendChild(code);
    box.appendChild(hint);
    figure.appendChild(box);
  }

  /* The Like button under a picture (and its QR code once liked): the garden's and the live one's. */
  function likeControls(figure, img, key) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "like-button";
    button.dataset.key = key;
    // Its name is its visible text (WCAG label in name); the picture's alt text says which one.
    button.setAttribute("aria-describedby", img.id);
    button.innerHTML = '<span class="like-icon" aria-hidden="true"></span> <span class="like-text"></span>';
    likeLabel(button, key);
    button.addEventListener("click", function () { toggleLike(button, key); });
    figure.appendChild(button);
    shareCode(figure, key);
  }

  function render() {
    var list = currentList();
    if (start >= list.length) { start = 0; }
    var items = shownItems();
    gardenEl.innerHTML = "";
    gardenEl.dataset.orientation = list === lists.portrait ? "portrait" : "landscape";
    items.forEach(function (item, i) {
      var key = keyFromUrl(item.url);
      var li = document.createElement("li");
      li.className = "garden-item";
      var figure = document.createElement("figure");
      var img = document.createElement("img");
      img.src = item.url;
      img.alt = describe(item, start + i + 1, list.length);
      img.dataset.key = key;
      img.id = "garden-picture-" + i;
      img.decoding = "async";
      K.fitShape(img);
      var picture = document.createElement("div");  // the picture and its AI-generated label over it
      picture.className = "ai-labelled";
      picture.appendChild(img);
      picture.appendChild(window.AiLabel.badge());
      figure.appendChild(picture);
      likeControls(figure, img, key);
      li.appendChild(figure);
      gardenEl.appendChild(li);
    });
    gardenEl.hidden = items.length === 0;
    liveTile.dataset.orientation = gardenEl.dataset.orientation;
    showNext(list.length > PAGE);
    showPosition();
    newScreen();
  }

  /* Next only where there is more to see: a garden of three or fewer has no dead button. */
  function showNext(more) {
    nextButton.hidden = !more;
    nextButton.disabled = !more;
  }

  /* Where the visitor is in the garden, counting what is on screen: the painted picture too. */
  function showPosition() {
    var list = currentList(), items = shownItems();
    var numbers = { first: K.number(start + 1), last: K.number(start + items.length), total: K.number(list.length) };
    var one = items.length === 1;  // "Image 1 of 1", never "Images 1–1 of 1"
    if (!items.length) {
      positionEl.textContent = "";
    } else if (live.key()) {
      positionEl.textContent = one
        ? t(gettext_noop("Image %(first)s of %(total)s, and one painted for you"), numbers)
        : t(gettext_noop("Images %(first)s–%(last)s of %(total)s, and one painted for you"), numbers);
    } else {
      positionEl.textContent = one
        ? t(gettext_noop("Image %(first)s of %(total)s"), numbers)
        : t(gettext_noop("Images %(first)s–%(last)s of %(total)s"), numbers);
    }
  }

  /* The screen on display: its keys, and whether a like was sent from it. A like reports its
   * screen itself; a screen left without a like is reported once to /impression when it goes. */
  var screen = null;

  function reportUnlikedScreen() {
    var left = screen;
    screen = null;
    if (!left || left.liked || !left.keys.length) { return; }
    var body = { id: left.visitorId, impression: left.keys };
    if (left.recommendationId) { body.recommendationId = left.recommendationId; }
    outbox.add("/impression", body);
  }

  function newScreen() {
    // A screen of the live picture alone (painted before the garden showed) is part of the new one.
    if (!(screen && screen.liveOnly && !screen.liked)) { reportUnlikedScreen(); }
    var keys = impressionKeys();
    screen = keys.length ? { keys: keys, liked: false, visitorId: visitor.id, recommendationId: recommendationId } : null;
  }

  /* The live picture showed: an unliked screen now holds it too (or it is a screen of its own), and
   * the visitor gets the full idle time, as for any answer. */
  function liveShown(key) {
    showPosition();
    if (!key || !visitor) { return; }
    if (idle) { idle.activity(); }
    if (!screen) { screen = { keys: [key], liked: false, visitorId: visitor.id, recommendationId: recommendationId, liveOnly: true }; }
    if (!screen.liked && screen.keys.indexOf(key) < 0) { screen.keys = impressionKeys(); }
  }

  /* A request the page waits for before it starts over: counted while in flight. */
  function begin() { inflight++; }
  function end() {
    inflight--;
    if (idle) { idle.activity(); }  // the visitor gets the full idle time once an answer shows
    if (resetPending && inflight === 0) { resetPending = false; resetVisitor(); }
  }

  /* A like or an undo goes through the outbox (outbox.js): the button shows it at once and the
   * event is delivered, in order, whenever the network lets it. The visitor sees no error for it. */
  function toggleLike(button, key) {
    if (!visitor || resetPending) { return; }
    var undo = !!liked[key];
    // A like carries exactly the keys on screen; an undo (dislike) names the item only.
    var body = undo ? { id: visitor.id, itemId: key } : { id: visitor.id, itemId: key, impression: impressionKeys() };
    if (recommendationId) { body.recommendationId = recommendationId; }
    if (!undo && screen) { screen.liked = true; }
    if (undo) { delete liked[key]; } else { liked[key] = true; }
    // The first like of a curated picture: once delivered, one live picture painted from it, once
    // per visitor (not in place of a live picture they liked: they may be scanning its QR code).
    var from = !undo && !askedFrom && key !== live.key() && !liked[live.key()];
    if (from) { askedFrom = true; }
    var id = visitor.id, emotion = searchKey() || visitor.emotion;
    outbox.add(undo ? "/dislike" : "/like", body, from ? function () {
      if (visitor && visitor.id === id && !liked[live.key()]) { live.request(id, emotion, key); }
    } : null);
    likeLabel(button, key);
    shareCode(button.closest("figure"), key);
  }

  function loadGarden() {
    var key = searchKey();
    if (!key || resetPending) { return null; }
    var ticket = ++gardenRequest;
    clearGarden();
    K.setState(gardenState, "busy", t(gettext_noop("Growing your garden…")));
    begin();
    return K.postJSON("/garden", { id: visitor.id, emotion: key, generation: visitor.generation, gender: visitor.gender })
      .then(function (response) {
        if (ticket !== gardenRequest) { return; }
        if (!response.ok) { throw new K.KioskError("http", "HTTP " + response.status); }
        var rid = response.headers.get("X-Recommendation-Id");
        return response.json().then(function (data) {
          if (ticket !== gardenRequest) { return; }
          lists = { landscape: data.landscape || [], portrait: data.portrait || [] };
          gardenKey = key;
          recommendationId = rid;
          start = 0;
          if (!lists.landscape.length && !lists.portrait.length) {
            K.setState(gardenState, "empty", key.indexOf("/") >= 0
              ? t(gettext_noop("No images for this favorite yet. Try another favorite or “Any”."))
              : t(gettext_noop("No images for this expression yet.")));
            return;
          }
          render();
          showFallback();
          bringGardenIntoView();
        });
      })
      .catch(function (err) {
        if (ticket !== gardenRequest) { return; }
        K.setState(gardenState, "error", err && err.kind === "network"
          ? t(gettext_noop("Network problem: the garden could not be loaded. Press Capture to try again."))
          : t(gettext_noop("The garden could not be loaded. Try again in a moment.")));
      })
      .then(end);
  }

  /* Say so on screen when the list is not all of the chosen favorite: /garden then added the
   * emotion's pictures of other favorites, after the favorite's own (docs/recommendation.md). The
   * keys say which is which; the body stays the contract's landscape/portrait. */
  function showFallback() {
    var slash = gardenKey.indexOf("/"), favorite = gardenKey.slice(slash + 1);
    var list = currentList();
    var own = slash < 0 ? list.length
      : list.filter(function (item) { return keyFavorite(keyFromUrl(item.url)) === favorite; }).length;
    if (own === list.length) {
      K.setState(gardenState, "ok", t(gettext_noop("Your garden is ready.")));
    } else if (own === 0) {
      K.setState(gardenState, "fallback", t(gettext_noop("No pictures for this favorite yet: here are gardens for your mood with other favorites.")));
    } else {
      K.setState(gardenState, "fallback", t(gettext_noop("Only a few pictures for this favorite so far: gardens for your mood with other favorites follow them.")));
    }
  }

  /* On a phone the garden is below the fold: scroll to it once it has loaded. */
  function bringGardenIntoView() {
    var panel = gardenEl.closest("section");
    if (panel.getBoundingClientRect().top > window.innerHeight * 0.6) {
      var reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      panel.scrollIntoView({ block: "start", behavior: reduce ? "auto" : "smooth" });
    }
  }

  /* The visitor's code for a deletion request (docs/privacy.md), shown under the notice. */
  function showVisitorCode(id) {
    codeBox.hidden = true;
    fetch(codeUrl + "?id=" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (!answer || !visitor || visitor.id !== id) { return; }  // a newer visitor is on screen
        codeBox.querySelectorAll("[data-code]").forEach(function (el) { el.textContent = answer.code; });
        codeBox.hidden = false;
      })
      .catch(function () { /* no code this time; the kiosk works without it */ });
  }

  /* The start state: the next person begins from scratch. The screen on display is reported
   * (clearGarden → reportUnlikedScreen, once); the camera preview stays on. */
  function resetVisitor() {
    gardenRequest++;
    clearGarden();
    live.cancel();
    visitor = null;
    result = null;
    K.forgetVisit("garden");
    liked = {};
    askedFrom = false;
    codeBox.hidden = true;
    K.hideResult();
    FAVORITE_IDS.forEach(function (id) { K.$(id).value = ""; });
    K.$("favorite-error").hidden = true;
    K.setState(K.$("capture-state"), "idle", t(gettext_noop("Press Capture to begin")));
    K.setState(gardenState, "idle", t(gettext_noop("Your garden appears here after the capture.")));
    window.scrollTo(0, 0);
    K.restoreLanguage();  // the next visitor starts in the kiosk's language
  }

  /* Start over now, or as soon as the requests in flight have answered (never mid-request: a
   * capture answering after the reset would hand the next person the previous visitor's id). */
  function startOver() {
    gardenRequest++;  // a garden still loading is stale: it will not be shown
    if (inflight > 0) { resetPending = true; return; }
    resetVisitor();
  }

  function isAtStart() {
    return !visitor && !resetPending && FAVORITE_IDS.every(function (id) { return !K.$(id).value; })
      && K.$("favorite-error").hidden && K.$("capture-state").dataset.state === "idle"
      && gardenState.dataset.state === "idle";
  }

  K.$("capture-button").addEventListener("click", function () {
    if (favoriteValue() === null) { K.$("favorite-season").focus(); return; }
    if (resetPending) { return; }
    gardenRequest++;  // a new capture makes any garden still loading stale
    clearGarden();
    live.cancel();
    K.setState(gardenState, "idle", t(gettext_noop("Your garden appears here after the capture.")));
    begin();
    K.captureFlow({
      camera: camera,
      stateBox: K.$("capture-state"),
      getVisitorId: function () { return visitor ? visitor.id : null; }
    }).then(function (answer) {
      if (!answer || resetPending) { return; }  // starting over: this visitor is not kept
      if (!visitor || visitor.id !== answer.id) { liked = {}; askedFrom = false; served++; }
      result = answer;
      visitor = { id: answer.id, emotion: String(answer.emotions).toLowerCase(), generation: answer.generation, gender: answer.gender };
      showVisitorCode(visitor.id);
      // The garden is counted before this capture ends, so a reset waits for it too; then the live
      // picture is asked for (after the garden: the curated pictures come first).
      var id = visitor.id, garden = loadGarden();
      if (garden) { garden.then(function () { if (visitor && visitor.id === id) { live.request(id, searchKey() || visitor.emotion); } }); }
    }).then(end, end);
  });

  /* Three at a time; the last page ends on the last picture (1–3, 2–4 of 4, never "4–4" alone),
   * then back to the start. */
  nextButton.addEventListener("click", function () {
    var list = currentList();
    var last = Math.max(0, list.length - PAGE);
    start = start >= last ? 0 : Math.min(start + PAGE, last);
    render();
  });

  FAVORITE_IDS.forEach(function (id) {
    K.$(id).addEventListener("change", function () { if (visitor && favoriteValue() !== null) { loadGarden(); } });
  });
  K.$("favorite-form").addEventListener("submit", function (event) { event.preventDefault(); });
  K.$("new-visitor").addEventListener("click", function () {
    startOver();
    K.$("capture-button").focus();  // the next person starts with Capture
  });

  var onRotate = function () { if (visitor && (lists.landscape.length || lists.portrait.length)) { start = 0; render(); showFallback(); } };
  if (portraitQuery.addEventListener) { portraitQuery.addEventListener("change", onRotate); } else { portraitQuery.addListener(onRotate); }

  // Leaving the page also leaves the screen: report it (fetch keepalive outlives the page).
  // A language switch reloads the page for the same visit (takeBackVisit): its live job goes on painting.
  var switchingLanguage = false;
  Array.prototype.forEach.call(document.querySelectorAll("form.language-switch"), function (form) {
    form.addEventListener("submit", function () { switchingLanguage = true; });
  });
  window.addEventListener("pagehide", function () {
    reportUnlikedScreen();
    if (switchingLanguage) { live.pause(); } else { live.cancel(); }
  });

  // Idle reset: GARDEN_KIOSK_IDLE_SECONDS (data-idle-seconds), or ?idle=<seconds> in the URL.
  var kioskRoot = K.$("kiosk");
  idle = new K.IdleReset({
    seconds: K.idleSeconds(kioskRoot),
    overlay: K.$("idle-countdown"),
    announce: K.$("idle-announce"),
    isBusy: function () { return inflight > 0 || resetPending; },
    isAtStart: isAtStart,
    onReset: startOver
  });

  // The screen's heartbeat and remote control (screens/static/screens/screen.js, docs/fleet.md).
  if (window.GardenScreen) {
    window.GardenScreen.attach({
      camera: function () { return camera.state; },
      outbox: function () { return outbox.stats(); },
      visitors: function () { return served; },
      isAtStart: isAtStart,
      isBusy: function () { return inflight > 0 || resetPending; },
      idleSeconds: function () { return K.idleSeconds(kioskRoot); },
      startOver: startOver
    });
  }

  /* The visit as the language switch keeps it: the same visitor (id, so likes stay theirs), the
   * result, the favorite, the likes, the screen of the garden they were on and their live picture. */
  function visitState() {
    if (!visitor || !result || resetPending) { return null; }
    return {
      result: result, visitor: visitor, liked: liked, askedFrom: askedFrom, start: start, live: live.keep(),
      favorite: FAVORITE_IDS.map(function (id) { return K.$(id).value; })
    };
  }

  function takeBackVisit(saved) {
    result = saved.result;
    visitor = saved.visitor;
    liked = saved.liked || {};
    askedFrom = !!saved.askedFrom;
    FAVORITE_IDS.forEach(function (id, i) { K.$(id).value = (saved.favorite || [])[i] || ""; });
    K.showResult(K.$("capture-state"), result);
    showVisitorCode(visitor.id);
    live.resume(saved.live);  // the picture painted for them, or the one still painting
    var id = visitor.id, garden = loadGarden();
    if (garden) {
      garden.then(function () {  // back on the screen they were on (the same list: the same key and visitor)
        if (!visitor || visitor.id !== id || !saved.start) { return; }
        start = Math.min(saved.start, Math.max(0, currentList().length - PAGE));
        render();
      });
    }
  }

  K.keepVisitOnLanguageSwitch("garden", visitState);
  var saved = K.takeVisit("garden", K.idleSeconds(kioskRoot) || 90);
  if (saved && saved.visitor && saved.result) { takeBackVisit(saved); }

  camera.start();
  outbox.flush();  // events a previous page left waiting
})();
