/* The page an old GET /text2image?prompt=… link opens: it polls the job (GET /api/v1/jobs/<id>,
 * the session cookie) every second, moving the progress bar, until the image is there.
 * Words from the page's JavaScript catalog (jsi18n), numbers from Intl, both in the page's language. */
(function () {
  "use strict";
  var POLL_MS = 1000;
  var root = document.querySelector("[data-job-url]");
  var lang = root.closest("[lang]").lang || "en";
  // Without the catalog (a language with none compiled) the English source words still show.
  var gettext = window.gettext || function (text) { return text; };
  var interpolate = window.interpolate || function (format, values) {
    return format.replace(/%\((\w+)\)s/g, function (_, name) { return String(values[name]); });
  };
  var aiLabel = root.dataset.aiLabel || "AI-generated";  // in the page's language (garden/labels.py)
  var number = new Intl.NumberFormat(lang);
  var percent = new Intl.NumberFormat(lang, { style: "percent" });
  var progress = document.getElementById("job-progress");
  var stateBox = document.getElementById("job-state");
  var results = document.getElementById("job-results");
  var notice = document.getElementById("job-notice");  // "Worker lost (…); resumed (attempt 2 of 3)."
  var job = JSON.parse(document.getElementById("job-data").textContent);
  var FINISHED = ["succeeded", "failed", "cancelled"];

  function setState(state, text) {
    stateBox.dataset.state = state;
    stateBox.setAttribute("aria-busy", state === "busy" ? "true" : "false");
    stateBox.querySelector(".state-text").textContent = text;
  }

  function render(data) {
    var pct = Math.round((data.progress || 0) * 100);
    if (data.status === "queued") {
      progress.removeAttribute("value");  // indeterminate while waiting
      var pos = data.queue_position;
      setState("busy", pos ? interpolate(gettext("Queued — position %(position)s"), { position: number.format(pos) }, true)
                           : gettext("Queued"));
    } else if (data.status === "running") {
      progress.value = pct;
      setState("busy", interpolate(gettext("Generating… %(percent)s (step %(done)s of %(total)s)"), {
        percent: percent.format(pct / 100), done: number.format(data.steps_done), total: number.format(data.steps_total)
      }, true));
    } else if (data.status === "succeeded") {
      progress.value = 100;
      setState("done", gettext("Done"));
    } else if (data.status === "cancelled") {
      progress.value = pct;
      setState("empty", gettext("Cancelled."));
    } else {
      progress.value = pct;
      setState("error", interpolate(gettext("Failed: %(error)s"), { error: data.error || gettext("unknown error") }, true));
    }
    notice.textContent = data.notice || "";
    notice.hidden = !data.notice;
    var banner = document.getElementById("queue-banner");  // "No worker is consuming queue gpu: …" (server-side, once)
    if (banner && data.status !== "queued") { banner.hidden = true; }
    if (results.children.length !== (data.images || []).length) { renderImages(data.images || [], data.prompt); }
  }

  /* What eyes see over a picture; its alt text starts with the same words, so the badge is aria-hidden. */
  function badge() {
    var el = document.createElement("span");
    el.className = "ai-label";
    el.setAttribute("aria-hidden", "true");
    el.textContent = aiLabel;
    return el;
  }

  function renderImages(images, prompt) {
    results.innerHTML = "";
    images.forEach(function (image, i) {
      var li = document.createElement("li");
      var img = document.createElement("img");
      img.src = image.url;
      img.width = image.width;
      img.height = image.height;
      img.alt = interpolate(gettext("%(label)s: image %(number)s for the prompt: %(prompt)s"), {
        label: aiLabel, number: number.format(i + 1), prompt: prompt
      }, true);
      var link = document.createElement("a");
      link.href = image.url;
      link.textContent = image.key;
      li.appendChild(img);
      li.appendChild(badge());
      li.appendChild(link);
      results.appendChild(li);
    });
  }

  function poll() {
    fetch(root.dataset.jobUrl, { credentials: "same-origin", headers: { "Accept": "application/json", "Accept-Language": lang } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        render(data);
        if (FINISHED.indexOf(data.status) < 0) { window.setTimeout(poll, POLL_MS); }
      }, function () {
        setState("busy", gettext("Connection problem: retrying…"));
        window.setTimeout(poll, POLL_MS * 3);
      });
  }

  render(job);
  if (FINISHED.indexOf(job.status) < 0) { window.setTimeout(poll, POLL_MS); }
})();
