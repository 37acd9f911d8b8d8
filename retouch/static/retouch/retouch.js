/* Retouch (staff): pick a picture, drag the rectangle, paint the mask, optionally detect and edit
 * edges, then submit a retouch job to the job API (multipart, session + CSRF), poll its progress,
 * cancel it, compare before and after, and keep the result in the pool.
 * The mask and the edge map are canvases of the source's size; the visible canvas composes the
 * picture, the edges, the mask (red) and the rectangle. Plain JavaScript, no inline handlers.
 * Words from the page's JavaScript catalog (gettext, ngettext, interpolate: jsi18n), numbers from
 * Intl, both in the page's language; the API calls ask for that language (Accept-Language). */
(function () {
  "use strict";
  var POLL_MS = 1000;
  var STATUS_MS = 15000;
  var config = JSON.parse(document.getElementById("retouch-config").textContent);
  var lang = document.querySelector(".rt-layout").closest("[lang]").lang || "en";
  // Without the catalog (a language with none compiled) the English source words still show.
  var gettext = window.gettext || function (text) { return text; };
  var ngettext = window.ngettext || function (one, many, n) { return n === 1 ? one : many; };
  var interpolate = window.interpolate || function (format, values) {
    return format.replace(/%\((\w+)\)s/g, function (_, name) { return String(values[name]); });
  };
  var number = new Intl.NumberFormat(lang);
  var percent = new Intl.NumberFormat(lang, { style: "percent" });
  var csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  var $ = function (id) { return document.getElementById(id); };
  var canvas = $("rt-canvas");
  var ctx = canvas.getContext("2d");
  var maskCanvas = document.createElement("canvas");
  var edgeCanvas = document.createElement("canvas");
  var state = {
    picture: null,        // an <img> of the source
    file: null,           // an uploaded source (File), or null with config.image
    imageId: config.image ? config.image.id : null,
    sourceUrl: config.image ? config.image.url : "",
    rect: null,           // {x, y, w, h} in source pixels
    tool: "rect",
    drag: null,
    edgesReady: false,
    job: null,
    timer: null
  };

  // --- small helpers --------------------------------------------------------------------------

  function setState(kind, text) {
    var box = $("rt-state");
    box.dataset.state = kind;
    box.setAttribute("aria-busy", kind === "busy" ? "true" : "false");
    box.querySelector(".state-text").textContent = text;
  }

  function showError(text) {
    $("rt-error").textContent = text || "";
    $("rt-error").hidden = !text;
  }

  function messageOf(data) {
    if (!data || typeof data !== "object") { return ""; }
    if (typeof data.detail === "string") { return data.detail; }
    return Object.keys(data).map(function (k) {
      var v = data[k];
      return k + ": " + (Array.isArray(v) ? v.join(" ") : (typeof v === "object" ? messageOf(v) : String(v)));
    }).join("; ");
  }

  function request(method, url, body, asBlob) {
    var options = { method: method, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken, "Accept-Language": lang } };
    if (body instanceof FormData) {
      options.body = body;
    } else if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      if (response.ok && asBlob) { return response.blob(); }
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var err = new Error(messageOf(data) || ("HTTP " + response.status));
          err.status = response.status;
          throw err;
        }
        return data;
      });
    }, function () { throw new Error(gettext("Network problem: the server could not be reached.")); });
  }

  function bindOutput(inputId, value) {
    var input = $(inputId);
    var out = $(inputId + "-out");
    if (value !== undefined) { input.value = value; }
    function show() { out.textContent = number.format(parseFloat(input.value)); }
    input.addEventListener("input", show);
    show();
  }

  function canvasBlob(source) {
    return new Promise(function (resolve) { source.toBlob(resolve, "image/png"); });
  }

  // --- features and the GPU pool ----------------------------------------------------------------

  function applyFeatures(features) {
    document.querySelectorAll(".rt-feature").forEach(function (el) {
      var name = el.dataset.feature;
      if (name === "edges") {
        var any = features.lineart.available || features.canny.available;
        el.hidden = !any;
        ["lineart", "canny"].forEach(function (kind) {
          var option = $("rt-detector").querySelector('option[value="' + kind + '"]');
          option.disabled = !features[kind].available;
        });
        if (!features.lineart.available && features.canny.available) { $("rt-detector").value = "canny"; }
      } else {
        el.hidden = !(features[name] && features[name].available);
      }
    });
    var inpaint = features.inpaint;
    if (!inpaint.available) {
      $("rt-unavailable").textContent = interpolate(gettext("Retouching is not configured: set %(setting)s."), { setting: inpaint.setting }, true);
      $("rt-unavailable").hidden = false;
    }
    state.canRetouch = inpaint.available;
    updateSubmit();
  }

  function pollPool() {
    request("GET", config.statusUrl).then(function (data) {
      var workers = data.gpu_workers.length;
      var parts = [
        interpolate(ngettext("GPU pool: %(count)s worker answering", "GPU pool: %(count)s workers answering", workers), { count: number.format(workers) }, true),
        interpolate(gettext("%(count)s queued"), { count: number.format(data.queued) }, true),
        interpolate(gettext("%(count)s running"), { count: number.format(data.running) }, true)
      ];
      if (data.broker_error) { parts.push(interpolate(gettext("broker: %(problem)s"), { problem: data.broker_error }, true)); }
      $("rt-pool").textContent = parts.join(" · ");
      applyFeatures(data.features);
    }, function (err) {
      $("rt-pool").textContent = interpolate(gettext("GPU pool: unknown (%(problem)s)"), { problem: err.message }, true);
    });
    window.setTimeout(pollPool, STATUS_MS);
  }

  // --- the picture, the rectangle, the mask ------------------------------------------------------

  function loadPicture(url) {
    var img = new Image();
    img.decoding = "async";
    img.addEventListener("load", function () {
      state.picture = img;
      [canvas, maskCanvas, edgeCanvas].forEach(function (c) { c.width = img.naturalWidth; c.height = img.naturalHeight; });
      var edges = edgeCanvas.getContext("2d");
      edges.fillStyle = "#000";
      edges.fillRect(0, 0, edgeCanvas.width, edgeCanvas.height);
      state.edgesReady = false;
      state.rect = { x: 0, y: 0, w: img.naturalWidth, h: img.naturalHeight };
      $("rt-empty").hidden = true;
      $("rt-before").src = url;
      syncRectInputs();
      redraw();
      canvas.dataset.ready = "true";
      updateSubmit();
    });
    img.addEventListener("error", function () { showError(gettext("The picture could not be loaded.")); });
    img.src = url;
  }

  function redraw() {
    if (!state.picture) { return; }
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(state.picture, 0, 0);
    if ($("rt-show-edges").checked && state.edgesReady) {
      ctx.globalAlpha = 0.6;
      ctx.globalCompositeOperation = "screen";
      ctx.drawImage(edgeCanvas, 0, 0);
      ctx.globalCompositeOperation = "source-over";
    }
    ctx.globalAlpha = 0.45;
    ctx.drawImage(tintedMask(), 0, 0);
    ctx.globalAlpha = 1;
    if (state.rect) {
      var r = state.rect;
      var line = Math.max(2, Math.round(canvas.width / 400));
      ctx.lineWidth = line;
      ctx.strokeStyle = "#ffd400";
      ctx.setLineDash([line * 4, line * 2]);
      ctx.strokeRect(r.x + line / 2, r.y + line / 2, r.w - line, r.h - line);
      ctx.setLineDash([]);
    }
  }

  var tint = document.createElement("canvas");
  function tintedMask() {
    tint.width = maskCanvas.width;
    tint.height = maskCanvas.height;
    var t = tint.getContext("2d");
    t.drawImage(maskCanvas, 0, 0);
    t.globalCompositeOperation = "source-in";
    t.fillStyle = "#ff2d55";
    t.fillRect(0, 0, tint.width, tint.height);
    t.globalCompositeOperation = "source-over";
    return tint;
  }

  function clampRect(r) {
    var W = canvas.width, H = canvas.height;
    var w = Math.max(8, Math.min(Math.round(r.w), W)), h = Math.max(8, Math.min(Math.round(r.h), H));
    var x = Math.max(0, Math.min(Math.round(r.x), W - w)), y = Math.max(0, Math.min(Math.round(r.y), H - h));
    return { x: x, y: y, w: w, h: h };
  }

  function syncRectInputs() {
    var r = state.rect;
    $("rt-x").value = r.x; $("rt-y").value = r.y; $("rt-w").value = r.w; $("rt-h").value = r.h;
  }

  function point(event) {
    var box = canvas.getBoundingClientRect();
    return { x: (event.clientX - box.left) * canvas.width / box.width, y: (event.clientY - box.top) * canvas.height / box.height };
  }

  function paint(from, to) {
    var tool = state.tool;
    var target = tool.indexOf("edge") === 0 ? edgeCanvas : maskCanvas;
    var c = target.getContext("2d");
    c.lineCap = "round";
    c.lineJoin = "round";
    c.lineWidth = parseInt($("rt-brush").value, 10) * canvas.width / Math.max(1, canvas.getBoundingClientRect().width);
    if (tool === "eraser") { c.globalCompositeOperation = "destination-out"; c.strokeStyle = "#000"; }
    else if (tool === "edge-eraser") { c.globalCompositeOperation = "source-over"; c.strokeStyle = "#000"; }
    else { c.globalCompositeOperation = "source-over"; c.strokeStyle = "#fff"; }
    c.beginPath();
    c.moveTo(from.x, from.y);
    c.lineTo(to.x + 0.01, to.y);
    c.stroke();
    c.globalCompositeOperation = "source-over";
    if (target === maskCanvas) { state.maskTouched = true; updateSubmit(); }
  }

  canvas.addEventListener("pointerdown", function (event) {
    if (!state.picture) { return; }
    canvas.setPointerCapture(event.pointerId);
    var p = point(event);
    state.drag = { start: p, last: p };
    if (state.tool !== "rect") { paint(p, p); redraw(); }
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!state.drag) { return; }
    var p = point(event);
    if (state.tool === "rect") {
      var s = state.drag.start;
      state.rect = clampRect({ x: Math.min(s.x, p.x), y: Math.min(s.y, p.y), w: Math.abs(p.x - s.x), h: Math.abs(p.y - s.y) });
      syncRectInputs();
    } else {
      paint(state.drag.last, p);
    }
    state.drag.last = p;
    redraw();
  });
  ["pointerup", "pointercancel"].forEach(function (name) {
    canvas.addEventListener(name, function () { state.drag = null; });
  });

  function setTool(tool) {
    var radio = document.querySelector('input[name="rt-tool"][value="' + tool + '"]');
    if (radio && !radio.closest("label").hidden) { radio.checked = true; state.tool = tool; }
  }
  document.querySelectorAll('input[name="rt-tool"]').forEach(function (radio) {
    radio.addEventListener("change", function () { state.tool = radio.value; });
  });

  canvas.addEventListener("keydown", function (event) {
    var keys = { r: "rect", b: "brush", e: "eraser", p: "edge-pen", k: "edge-eraser" };
    if (keys[event.key]) { setTool(keys[event.key]); event.preventDefault(); return; }
    if (event.key === "[" || event.key === "]") {
      var brush = $("rt-brush");
      brush.value = parseInt(brush.value, 10) + (event.key === "]" ? 4 : -4);
      brush.dispatchEvent(new Event("input"));
      event.preventDefault();
      return;
    }
    var moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (!moves[event.key] || !state.rect) { return; }
    var step = 8 * (event.altKey ? 8 : 1);
    var d = moves[event.key], r = state.rect;
    state.rect = clampRect(event.shiftKey ? { x: r.x, y: r.y, w: r.w + d[0] * step, h: r.h + d[1] * step }
                                          : { x: r.x + d[0] * step, y: r.y + d[1] * step, w: r.w, h: r.h });
    syncRectInputs();
    redraw();
    event.preventDefault();
  });

  ["rt-x", "rt-y", "rt-w", "rt-h"].forEach(function (id) {
    $(id).addEventListener("change", function () {
      if (!state.picture) { return; }
      state.rect = clampRect({ x: +$("rt-x").value, y: +$("rt-y").value, w: +$("rt-w").value, h: +$("rt-h").value });
      syncRectInputs();
      redraw();
    });
  });

  function maskAlpha() {
    var data = maskCanvas.getContext("2d").getImageData(0, 0, maskCanvas.width, maskCanvas.height);
    return data;
  }

  function maskBox() {
    var data = maskAlpha().data, W = maskCanvas.width, H = maskCanvas.height;
    var x0 = W, y0 = H, x1 = -1, y1 = -1;
    for (var y = 0; y < H; y++) {
      for (var x = 0; x < W; x++) {
        if (data[(y * W + x) * 4 + 3] >= 128) {
          if (x < x0) { x0 = x; } if (x > x1) { x1 = x; }
          if (y < y0) { y0 = y; } if (y > y1) { y1 = y; }
        }
      }
    }
    return x1 < 0 ? null : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
  }

  $("rt-rect-from-mask").addEventListener("click", function () {
    var box = maskBox();
    if (!box) { showError(gettext("Paint a mask first.")); return; }
    var pad = config.defaults.padding;
    state.rect = clampRect({ x: box.x - pad, y: box.y - pad, w: box.w + 2 * pad, h: box.h + 2 * pad });
    syncRectInputs();
    redraw();
  });

  /* Grow (dilate) or shrink (erode) the mask's alpha by `radius` pixels: a separable max/min filter. */
  function morph(radius, grow) {
    var image = maskAlpha(), W = image.width, H = image.height, data = image.data;
    var alpha = new Uint8Array(W * H), tmp = new Uint8Array(W * H);
    for (var i = 0; i < W * H; i++) { alpha[i] = data[i * 4 + 3] >= 128 ? 255 : 0; }
    function pass(src, dst, horizontal) {
      for (var y = 0; y < H; y++) {
        for (var x = 0; x < W; x++) {
          var best = grow ? 0 : 255;
          for (var k = -radius; k <= radius; k++) {
            var xx = horizontal ? x + k : x, yy = horizontal ? y : y + k;
            var v = (xx < 0 || yy < 0 || xx >= W || yy >= H) ? (grow ? 0 : 255) : src[yy * W + xx];
            best = grow ? Math.max(best, v) : Math.min(best, v);
          }
          dst[y * W + x] = best;
        }
      }
    }
    pass(alpha, tmp, true);
    pass(tmp, alpha, false);
    for (var j = 0; j < W * H; j++) { data[j * 4] = data[j * 4 + 1] = data[j * 4 + 2] = 255; data[j * 4 + 3] = alpha[j]; }
    maskCanvas.getContext("2d").putImageData(image, 0, 0);
    redraw();
  }
  $("rt-grow").addEventListener("click", function () { morph(4, true); });
  $("rt-shrink").addEventListener("click", function () { morph(4, false); });
  $("rt-clear").addEventListener("click", function () {
    maskCanvas.getContext("2d").clearRect(0, 0, maskCanvas.width, maskCanvas.height);
    state.maskTouched = false;
    redraw();
  });

  // --- source picking ---------------------------------------------------------------------------

  $("rt-upload").addEventListener("change", function () {
    var file = this.files && this.files[0];
    if (!file) { return; }
    if (file.size > config.maxBodyBytes) { showError(gettext("The picture is larger than the server accepts.")); return; }
    state.file = file;
    state.imageId = null;
    state.sourceUrl = URL.createObjectURL(file);
    loadPicture(state.sourceUrl);
  });

  function sourceFields(form) {
    if (state.file) { form.append("image", state.file); } else { form.append("image_id", state.imageId); }
  }

  // --- edges and tags ---------------------------------------------------------------------------

  $("rt-detect").addEventListener("click", function () {
    if (!state.picture) { return; }
    var form = new FormData();
    sourceFields(form);
    form.append("detector", $("rt-detector").value);
    $("rt-detect").disabled = true;
    request("POST", config.edgesUrl, form, true).then(function (blob) {
      var img = new Image();
      img.addEventListener("load", function () {
        edgeCanvas.getContext("2d").drawImage(img, 0, 0, edgeCanvas.width, edgeCanvas.height);
        state.edgesReady = true;
        $("rt-show-edges").checked = true;
        $("rt-use-edges").checked = true;
        document.querySelectorAll(".rt-edge-only").forEach(function (el) { el.hidden = false; });
        redraw();
        $("rt-detect").disabled = false;
      });
      img.src = URL.createObjectURL(blob);
    }, function (err) { showError(err.message); $("rt-detect").disabled = false; });
  });
  $("rt-show-edges").addEventListener("change", redraw);

  $("rt-tags-button").addEventListener("click", function () {
    if (!state.picture) { return; }
    var form = new FormData();
    sourceFields(form);
    request("POST", config.tagsUrl, form).then(function (data) {
      var list = $("rt-tags");
      list.innerHTML = "";
      Object.keys(data.tags).forEach(function (tag) {
        var li = document.createElement("li");
        var chip = document.createElement("button");
        chip.type = "button";
        chip.className = "rt-chip";
        chip.textContent = tag;
        chip.title = interpolate(gettext("Score %(score)s: add to the prompt"), { score: number.format(data.tags[tag]) }, true);
        chip.addEventListener("click", function () {
          var prompt = $("rt-prompt");
          prompt.value = prompt.value.trim() ? prompt.value.replace(/[\s,]*$/, "") + ", " + tag : tag;
          chip.disabled = true;
        });
        li.appendChild(chip);
        list.appendChild(li);
      });
    }, function (err) { showError(err.message); });
  });

  // --- submit, progress, result ---------------------------------------------------------------------

  function updateSubmit() {
    $("rt-submit").disabled = !(state.picture && state.canRetouch !== false) || !!state.job;
  }

  function finished(data) { return ["succeeded", "failed", "cancelled"].indexOf(data.status) >= 0; }

  function render(data) {
    state.job = data;
    var pct = Math.round((data.progress || 0) * 100);
    var progress = $("rt-progress");
    if (data.status === "queued") {
      progress.removeAttribute("value");
      var pos = data.queue_position;
      setState("busy", pos ? interpolate(gettext("Queued — position %(position)s"), { position: number.format(pos) }, true)
                           : gettext("Queued"));
    } else if (data.status === "running") {
      progress.value = pct;
      setState("busy", interpolate(gettext("Repainting… %(percent)s (step %(done)s of %(total)s)"), {
        percent: percent.format(pct / 100), done: number.format(data.steps_done), total: number.format(data.steps_total)
      }, true));
    } else if (data.status === "succeeded") {
      progress.value = 100;
      var count = data.images.length;
      setState("done", interpolate(ngettext("Done: %(count)s picture.", "Done: %(count)s pictures.", count), { count: number.format(count) }, true));
      showResult(data);
    } else if (data.status === "cancelled") {
      progress.value = pct;
      setState("empty", gettext("Cancelled."));
    } else {
      progress.value = pct;
      setState("error", interpolate(gettext("Failed: %(error)s"), { error: data.error || gettext("unknown error") }, true));
    }
  }

  function showResult(data) {
    var image = data.images[0];
    if (!image) { return; }
    $("rt-after").src = image.url;
    $("rt-compare").hidden = false;
    $("rt-result-caption").textContent = image.key;
    var id = image.id;
    $("rt-keep").hidden = !id;
    $("rt-keep").dataset.ids = JSON.stringify(data.images.map(function (i) { return i.id; }));
    if (id) {
      $("rt-admin-link").href = config.adminImageUrl.replace("/0/", "/" + id + "/");
      $("rt-admin-link").hidden = false;
    }
    $("rt-archive-link").href = config.jobsUrl + "/" + data.id + "/archive";
    $("rt-archive-link").hidden = false;
  }

  function done() {
    state.job = null;
    $("rt-cancel").hidden = true;
    updateSubmit();
  }

  function poll() {
    if (!state.job) { return; }
    request("GET", config.jobsUrl + "/" + state.job.id).then(function (data) {
      render(data);
      if (finished(data)) { done(); return; }
      state.timer = window.setTimeout(poll, POLL_MS);
    }, function (err) {
      showError(interpolate(gettext("%(problem)s Retrying…"), { problem: err.message }, true));
      state.timer = window.setTimeout(poll, POLL_MS * 3);
    });
  }

  $("rt-form").addEventListener("submit", function (event) {
    event.preventDefault();
    showError("");
    if (!state.picture) { return; }
    var form = new FormData();
    form.append("kind", "retouch");
    sourceFields(form);
    var r = state.rect;
    form.append("rect", [r.x, r.y, r.w, r.h].join(","));
    ["prompt", "negative"].forEach(function (name) {
      form.append(name === "prompt" ? "prompt" : "negative_prompt", $("rt-" + name).value.trim());
    });
    form.append("strength", $("rt-strength").value);
    form.append("opacity", $("rt-opacity").value);
    form.append("mask_blur", $("rt-blur").value);
    form.append("noise_multiplier", $("rt-noise").value);
    form.append("color_match", $("rt-color-match").checked ? "true" : "false");
    form.append("masked_content", $("rt-fill").value);
    form.append("sampler", $("rt-sampler").value);
    if ($("rt-steps").value) { form.append("steps", $("rt-steps").value); }
    if ($("rt-seed").value && +$("rt-seed").value >= 0) { form.append("seed", $("rt-seed").value); }
    var pending = [];
    if (state.maskTouched) {
      pending.push(canvasBlob(maskCanvas).then(function (blob) { form.append("mask", blob, "mask.png"); }));
    }
    var edgesOn = !$("rt-use-edges").closest(".rt-feature").hidden && $("rt-use-edges").checked;
    if (edgesOn) {
      form.append("controls", JSON.stringify([{ type: $("rt-detector").value, scale: +$("rt-control-weight").value }]));
      if (state.edgesReady) {
        pending.push(canvasBlob(edgeCanvas).then(function (blob) { form.append("control_0", blob, "edges.png"); }));
      }
    }
    var referenceOn = !$("rt-use-reference").closest(".rt-feature").hidden && $("rt-use-reference").checked;
    if (referenceOn) {
      form.append("reference", JSON.stringify({ scale: +$("rt-reference-scale").value }));
      var refFile = $("rt-reference-file").files[0];
      if (refFile) { form.append("reference_image", refFile); }
    }
    $("rt-submit").disabled = true;
    $("rt-compare").hidden = true;
    $("rt-keep").hidden = true;
    setState("busy", gettext("Submitting…"));
    Promise.all(pending).then(function () {
      return request("POST", config.jobsUrl, form);
    }).then(function (data) {
      $("rt-cancel").hidden = false;
      $("rt-cancel").disabled = false;
      render(data);
      if (finished(data)) { done(); return; }
      state.timer = window.setTimeout(poll, POLL_MS);
    }, function (err) {
      state.job = null;
      updateSubmit();
      setState("error", gettext("Not started."));
      showError(err.message);
    });
  });

  $("rt-cancel").addEventListener("click", function () {
    if (!state.job) { return; }
    $("rt-cancel").disabled = true;
    request("POST", config.jobsUrl + "/" + state.job.id + "/cancel").then(function (data) {
      window.clearTimeout(state.timer);
      render(data);
      if (finished(data)) { done(); } else { state.timer = window.setTimeout(poll, POLL_MS); }
    }, function (err) { $("rt-cancel").disabled = false; showError(err.message); });
  });

  $("rt-keep").addEventListener("click", function () {
    var ids = JSON.parse(this.dataset.ids || "[]");
    request("POST", config.decideUrl, { ids: ids, decision: "keep" }).then(function () {
      $("rt-keep").hidden = true;
      setState("done", gettext("Kept in the pool: ready for promotion."));
    }, function (err) { showError(err.message); });
  });

  $("rt-compare-slider").addEventListener("input", function () {
    // CSSOM, not a style attribute: allowed under a strict Content-Security-Policy.
    $("rt-after").style.clipPath = "inset(0 0 0 " + this.value + "%)";
  });

  // --- start ------------------------------------------------------------------------------------

  bindOutput("rt-brush");
  bindOutput("rt-strength", config.defaults.strength);
  bindOutput("rt-opacity", config.defaults.opacity);
  bindOutput("rt-blur", config.defaults.maskBlur);
  bindOutput("rt-noise");
  bindOutput("rt-control-weight");
  bindOutput("rt-reference-scale");
  $("rt-after").style.clipPath = "inset(0 0 0 50%)";
  applyFeatures(config.features);
  pollPool();
  if (config.image) { loadPicture(config.image.url); }
})();
