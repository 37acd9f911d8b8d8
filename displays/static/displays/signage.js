/* The signage page of one display zone: a full-screen slideshow that follows the zone.
 *
 * It polls /display/<zone>/state (tiny JSON: a version and the slot URLs) and, when the version
 * changes, downloads every image of the new set into memory (blob URLs) before switching to it,
 * so a half-loaded set is never shown and the slideshow goes on with the last complete set while
 * the server is unreachable. Landscape images on a landscape screen, portrait on a portrait one
 * (the other list when that one is empty). ?rotate=<s> and ?poll=<s> override the zone's timings.
 * The page's words are the server's, in the zone's language (or the screen's ?lang=); when an
 * operator changes the zone's language, an unpinned screen reloads in it at the next poll.
 */
(function () {
  "use strict";
  var root = document.getElementById("signage");
  var slides = root.querySelectorAll(".slide");
  var empty = root.querySelector(".signage-empty:not(.signage-unknown)");
  var unknown = root.querySelector(".signage-unknown");
  var label = root.querySelector(".ai-label");  // the AI-generated label: on while a picture shows
  var known = true;     // false while the zone named in the address does not exist
  var params = new URLSearchParams(window.location.search);
  var portraitQuery = window.matchMedia("(orientation: portrait)");

  function seconds(name, fallback) {
    var value = parseFloat(params.get(name));
    return value > 0 ? value : fallback;
  }

  var rotateMs = seconds("rotate", parseFloat(root.dataset.rotateSeconds) || 10) * 1000;
  var pollMs = seconds("poll", parseFloat(root.dataset.pollSeconds) || 30) * 1000;
  var shown = { landscape: [], portrait: [] };  // [{url, blob}] of the set on screen
  var version = null;
  var position = 0;
  var front = 0;        // which of the two <img> is visible
  var loading = null;   // the version being downloaded

  function currentList() {
    var side = portraitQuery.matches ? "portrait" : "landscape";
    var other = side === "portrait" ? "landscape" : "portrait";
    return shown[side].length ? shown[side] : shown[other];
  }

  function show() {
    var list = currentList();
    empty.hidden = list.length > 0 || !known;
    unknown.hidden = list.length > 0 || known;
    label.hidden = !list.length;
    if (!list.length) {
      slides.forEach(function (img) { img.classList.remove("shown"); img.removeAttribute("src"); });
      root.dataset.slide = "";
      return;
    }
    var item = list[position % list.length];
    position = (position + 1) % list.length;
    var next = slides[1 - front];
    next.src = item.blob;
    next.dataset.url = item.url;
    var reveal = function () {
      next.classList.add("shown");
      slides[front].classList.remove("shown");
      front = 1 - front;
      root.dataset.slide = item.url;
    };
    if (next.decode) { next.decode().then(reveal, reveal); } else { reveal(); }
  }

  function download(url) {
    return fetch(url, { cache: "no-store" }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.blob();
    }).then(function (blob) { return { url: url, blob: URL.createObjectURL(blob) }; });
  }

  /* Switch to a new set only once all of its images are in memory. */
  function load(state) {
    if (loading === state.version && known === (state.exists !== false)) { return Promise.resolve(); }
    loading = state.version;
    var sides = ["landscape", "portrait"];
    return Promise.all(sides.map(function (side) { return Promise.all((state[side] || []).map(download)); }))
      .then(function (lists) {
        var previous = shown;
        shown = { landscape: lists[0], portrait: lists[1] };
        version = state.version;
        known = state.exists !== false;
        root.dataset.version = String(version);
        position = 0;
        show();
        // The old blobs may still be on screen for the fade: free them afterwards.
        window.setTimeout(function () {
          sides.forEach(function (side) { previous[side].forEach(function (item) { URL.revokeObjectURL(item.blob); }); });
        }, 3000);
      }, function () { root.dataset.online = "false"; })
      .then(function () { loading = null; });
  }

  function poll() {
    fetch(root.dataset.stateUrl, { cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (state) {
        root.dataset.online = "true";
        if (!root.dataset.pinned && state.language && state.language !== document.documentElement.lang) {
          // Only once the page itself answers: a failed reload would leave an error page on the screen.
          return fetch(window.location.href, { cache: "no-store" }).then(function (page) {
            if (page.ok) { window.location.reload(); }
          });
        }
        if (state.version !== version || (state.exists !== false) !== known) { return load(state); }
      })
      .catch(function () { root.dataset.online = "false"; })  // keep showing the last set
      .then(function () { window.setTimeout(poll, pollMs); });
  }

  var onRotate = function () { position = 0; show(); };
  if (portraitQuery.addEventListener) { portraitQuery.addEventListener("change", onRotate); } else { portraitQuery.addListener(onRotate); }

  // Full screen needs a gesture: a tap or a key on the screen asks for it once.
  function fullScreen() {
    if (!document.fullscreenElement && document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(function () { /* refused: stay windowed */ });
    }
  }
  document.addEventListener("click", fullScreen);
  document.addEventListener("keydown", fullScreen);

  var initial = JSON.parse(document.getElementById("signage-state").textContent);
  load(initial).then(function () {
    window.setInterval(show, rotateMs);
    window.setTimeout(poll, pollMs);
  });
})();
