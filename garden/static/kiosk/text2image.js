/* Text-to-image (staff): submit a job to the job API with the session + CSRF token, poll its
 * status for the progress bar, cancel it, show the images.
 * Words come from the page's JavaScript catalog (gettext, ngettext, interpolate: jsi18n), numbers
 * from Intl in the page's language; the API calls ask for that language (Accept-Language), so
 * its error messages come back in it too. */
(function () {
  "use strict";
  var POLL_MS = 1000;
  var root = document.querySelector("[data-jobs-url]");
  var lang = root.closest("[lang]").lang || "en";
  // Without the catalog (a language with none compiled) the English source words still show.
  var gettext = window.gettext || function (text) { return text; };
  var ngettext = window.ngettext || function (one, many, n) { return n === 1 ? one : many; };
  var interpolate = window.interpolate || function (format, values) {
    return format.replace(/%\((\w+)\)s/g, function (_, name) { return String(values[name]); });
  };
  var aiLabel = root.dataset.aiLabel || "AI-generated";  // in the page's language (garden/labels.py)
  var number = new Intl.NumberFormat(lang);
  var percent = new Intl.NumberFormat(lang, { style: "percent" });
  // The API's field names are codes; the page names them in its own words.
  var FIELDS = { prompt: gettext("Prompt"), width: gettext("Width"), height: gettext("Height"), count: gettext("Number of images") };
  var jobsUrl = root.dataset.jobsUrl.replace(/\/$/, "");
  var csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  var form = document.getElementById("t2i-form");
  var prompt = document.getElementById("t2i-prompt");
  var resolution = document.getElementById("t2i-resolution");
  var submit = document.getElementById("t2i-submit");
  var cancel = document.getElementById("t2i-cancel");
  var errorEl = document.getElementById("t2i-error");
  var progress = document.getElementById("t2i-progress");
  var stateBox = document.getElementById("t2i-state");
  var results = document.getElementById("t2i-results");
  var job = null;
  var timer = null;

  function setState(state, text) {
    stateBox.dataset.state = state;
    stateBox.setAttribute("aria-busy", state === "busy" ? "true" : "false");
    stateBox.querySelector(".state-text").textContent = text;
  }

  function showError(text) {
    errorEl.textContent = text || "";
    errorEl.hidden = !text;
  }

  function api(method, url, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "Accept-Language": lang, "X-CSRFToken": csrfToken }
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var err = new Error(messageOf(data) || ("HTTP " + response.status));
          err.status = response.status;
          throw err;
        }
        return data;
      });
    }, function () {
      throw new Error(gettext("Network problem: the server could not be reached."));
    });
  }

  /* DRF errors: {"detail": "..."} or {"field": ["..."]}. */
  function messageOf(data) {
    if (!data || typeof data !== "object") { return ""; }
    if (typeof data.detail === "string") { return data.detail; }
    return Object.keys(data).map(function (k) {
      var v = data[k];
      return (FIELDS[k] || k) + ": " + (Array.isArray(v) ? v.join(" ") : (typeof v === "object" ? messageOf(v) : String(v)));
    }).join("; ");
  }

  function busy(on) {
    submit.disabled = on;
    cancel.hidden = !on;
    cancel.disabled = false;
    prompt.readOnly = on;
  }

  function render(data) {
    job = data;
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
      var count = (data.images || []).length;
      setState("done", interpolate(ngettext("Done: %(count)s image.", "Done: %(count)s images.", count), { count: number.format(count) }, true));
    } else if (data.status === "cancelled") {
      progress.value = pct;
      setState("empty", gettext("Cancelled."));
    } else {
      progress.value = pct;
      setState("error", interpolate(gettext("Failed: %(error)s"), { error: data.error || gettext("unknown error") }, true));
    }
    renderImages(data.images || []);
  }

  /* What eyes see over a picture; its alt text starts with the same words, so the badge is aria-hidden. */
  function badge() {
    var el = document.createElement("span");
    el.className = "ai-label";
    el.setAttribute("aria-hidden", "true");
    el.textContent = aiLabel;
    return el;
  }

  function renderImages(images) {
    results.innerHTML = "";
    images.forEach(function (image, i) {
      var li = document.createElement("li");
      var img = document.createElement("img");
      img.src = image.url;
      img.width = image.width;
      img.height = image.height;
      img.alt = interpolate(gettext("%(label)s: image %(number)s for the prompt: %(prompt)s"), {
        label: aiLabel, number: number.format(i + 1), prompt: job && job.prompt ? job.prompt : prompt.value
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

  function finished(data) { return ["succeeded", "failed", "cancelled"].indexOf(data.status) >= 0; }

  function poll() {
    if (!job) { return; }
    api("GET", jobsUrl + "/" + job.id).then(function (data) {
      render(data);
      if (finished(data)) { busy(false); job = null; return; }
      timer = window.setTimeout(poll, POLL_MS);
    }, function (err) {
      showError(interpolate(gettext("%(problem)s Retrying…"), { problem: err.message }, true));
      timer = window.setTimeout(poll, POLL_MS * 3);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    showError("");
    var text = prompt.value.trim();
    if (!text) {
      showError(gettext("Write a prompt first."));
      prompt.focus();
      return;
    }
    var size = resolution.value.split("x");
    busy(true);
    results.innerHTML = "";
    progress.value = 0;
    setState("busy", gettext("Submitting…"));
    api("POST", jobsUrl, { prompt: text, width: parseInt(size[0], 10), height: parseInt(size[1], 10), count: 1 })
      .then(function (data) {
        render(data);
        if (finished(data)) { busy(false); job = null; return; }
        timer = window.setTimeout(poll, POLL_MS);
      }, function (err) {
        busy(false);
        setState("error", gettext("Not started."));
        showError(err.message);
      });
  });

  cancel.addEventListener("click", function () {
    if (!job) { return; }
    cancel.disabled = true;
    api("POST", jobsUrl + "/" + job.id + "/cancel").then(function (data) {
      window.clearTimeout(timer);
      render(data);
      if (finished(data)) { busy(false); job = null; } else { timer = window.setTimeout(poll, POLL_MS); }
    }, function (err) {
      cancel.disabled = false;
      showError(err.message);
    });
  });
})();
