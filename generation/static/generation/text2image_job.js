/* The page an old GET /text2image?prompt=… link opens: it polls the job (GET /api/v1/jobs/<id>,
 * the session cookie) every second, moving the progress bar, until the image is there. */
(function () {
  "use strict";
  var POLL_MS = 1000;
  var root = document.querySelector("[data-job-url]");
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
      setState("busy", "Queued" + (pos ? " — position " + pos : "") + " · 대기 중" + (pos ? " (" + pos + "번째)" : ""));
    } else if (data.status === "running") {
      progress.value = pct;
      setState("busy", "Generating… " + pct + "% (step " + data.steps_done + " of " + data.steps_total + ") · 생성 중");
    } else if (data.status === "succeeded") {
      progress.value = 100;
      setState("done", "Done · 완료");
    } else if (data.status === "cancelled") {
      progress.value = pct;
      setState("empty", "Cancelled · 취소되었습니다.");
    } else {
      progress.value = pct;
      setState("error", "Failed: " + (data.error || "unknown error") + " · 실패했습니다.");
    }
    notice.textContent = data.notice || "";
    notice.hidden = !data.notice;
    var banner = document.getElementById("queue-banner");  // "No worker is consuming queue gpu: …" (server-side, once)
    if (banner && data.status !== "queued") { banner.hidden = true; }
    if (results.children.length !== (data.images || []).length) { renderImages(data.images || [], data.prompt); }
  }

  function renderImages(images, prompt) {
    results.innerHTML = "";
    images.forEach(function (image, i) {
      var li = document.createElement("li");
      var img = document.createElement("img");
      img.src = image.url;
      img.width = image.width;
      img.height = image.height;
      img.alt = window.AiLabel.text() + ": image " + (i + 1) + " for the prompt: " + prompt;
      var link = document.createElement("a");
      link.href = image.url;
      link.textContent = image.key;
      li.appendChild(img);
      li.appendChild(window.AiLabel.badge());
      li.appendChild(link);
      results.appendChild(li);
    });
  }

  function poll() {
    fetch(root.dataset.jobUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        render(data);
        if (FINISHED.indexOf(data.status) < 0) { window.setTimeout(poll, POLL_MS); }
      }, function () {
        setState("busy", "Connection problem: retrying… · 연결 문제로 다시 시도 중…");
        window.setTimeout(poll, POLL_MS * 3);
      });
  }

  render(job);
  if (FINISHED.indexOf(job.status) < 0) { window.setTimeout(poll, POLL_MS); }
})();
