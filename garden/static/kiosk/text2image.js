/* Text-to-image (staff): submit a job to the job API with the session + CSRF token, poll its
 * status for the progress bar, cancel it, show the images. */
(function () {
  "use strict";
  var POLL_MS = 1000;
  var root = document.querySelector("[data-jobs-url]");
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
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken }
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
      throw new Error("Network problem: the server could not be reached. · 네트워크 오류입니다.");
    });
  }

  /* DRF errors: {"detail": "..."} or {"field": ["..."]}. */
  function messageOf(data) {
    if (!data || typeof data !== "object") { return ""; }
    if (typeof data.detail === "string") { return data.detail; }
    return Object.keys(data).map(function (k) {
      var v = data[k];
      return k + ": " + (Array.isArray(v) ? v.join(" ") : (typeof v === "object" ? messageOf(v) : String(v)));
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
      setState("busy", "Queued" + (pos ? " — position " + pos : "") + " · 대기 중" + (pos ? " (" + pos + "번째)" : ""));
    } else if (data.status === "running") {
      progress.value = pct;
      setState("busy", "Generating… " + pct + "% (step " + data.steps_done + " of " + data.steps_total + ") · 생성 중");
    } else if (data.status === "succeeded") {
      progress.value = 100;
      setState("done", "Done: " + (data.images || []).length + " image(s). · 완료");
    } else if (data.status === "cancelled") {
      progress.value = pct;
      setState("empty", "Cancelled. · 취소되었습니다.");
    } else {
      progress.value = pct;
      setState("error", "Failed: " + (data.error || "unknown error") + " · 실패했습니다.");
    }
    renderImages(data.images || []);
  }

  function renderImages(images) {
    results.innerHTML = "";
    images.forEach(function (image, i) {
      var li = document.createElement("li");
      var img = document.createElement("img");
      img.src = image.url;
      img.width = image.width;
      img.height = image.height;
      img.alt = window.AiLabel.text() + ": image " + (i + 1) + " for the prompt: " + (job && job.prompt ? job.prompt : prompt.value);
      var link = document.createElement("a");
      link.href = image.url;
      link.textContent = image.key;
      li.appendChild(img);
      li.appendChild(window.AiLabel.badge());
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
      showError(err.message + " Retrying… · 다시 시도 중…");
      timer = window.setTimeout(poll, POLL_MS * 3);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    showError("");
    var text = prompt.value.trim();
    if (!text) {
      showError("Write a prompt first. · 프롬프트를 입력해 주세요.");
      prompt.focus();
      return;
    }
    var size = resolution.value.split("x");
    busy(true);
    results.innerHTML = "";
    progress.value = 0;
    setState("busy", "Submitting… · 요청 중…");
    api("POST", jobsUrl, { prompt: text, width: parseInt(size[0], 10), height: parseInt(size[1], 10), count: 1 })
      .then(function (data) {
        render(data);
        if (finished(data)) { busy(false); job = null; return; }
        timer = window.setTimeout(poll, POLL_MS);
      }, function (err) {
        busy(false);
        setState("error", "Not started. · 시작하지 못했습니다.");
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
