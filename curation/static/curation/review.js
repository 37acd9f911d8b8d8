/* Keyboard-first review of garden images. Plain JS, no build step.
 *
 * The page carries up to 100 images as JSON. Decisions are shown at once (optimistic) and sent
 * in order, one request at a time, to the staff-only JSON endpoint; a failed request rolls the
 * image back and says so. Undo pops a local stack and sends the previous state back.
 *
 * Layout: the preview and the grid share one box (#workspace) sized to the height left on screen
 * below the header, and the grid scrolls inside it. Moving through the grid scrolls only the grid
 * (reveal), never the page, so the large preview stays on screen through a long session.
 *
 * Words come from the static JavaScript catalog the page loads first (gettext, interpolate).
 */
(function () {
  "use strict";
  const root = document.getElementById("review");
  const items = JSON.parse(document.getElementById("review-items").textContent);
  const config = JSON.parse(document.getElementById("review-config").textContent);
  if (!root || !items.length) return;

  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  const workspace = document.getElementById("workspace");
  const grid = document.getElementById("grid");
  const cells = Array.from(grid.children);
  const stageImg = document.getElementById("stage-img");
  const stageKey = document.getElementById("stage-key");
  const stageMeta = document.getElementById("stage-meta");
  const stagePrompt = document.getElementById("stage-prompt");
  const stageState = document.getElementById("stage-state");
  const stageSafety = document.getElementById("review-safety");
  const statusLine = document.getElementById("review-status");
  const autoAdvance = document.getElementById("auto-advance");
  const undoStack = [];
  let current = 0;
  let queue = Promise.resolve();
  let inflight = 0;

  const stateOf = (item) => (item.status === "rejected" ? "rejected" : item.kept ? "kept" : "pending");
  const decisionFor = { kept: "keep", rejected: "reject", pending: "pending" };
  const stateLabel = { kept: pgettext("review scope", "kept"), rejected: pgettext("review scope", "rejected"), pending: pgettext("review scope", "pending") };

  function setState(index, state) {
    const item = items[index];
    item.status = state === "rejected" ? "rejected" : item.status === "serving" ? "serving" : "pool";
    item.kept = state === "kept";
    cells[index].classList.remove("is-kept", "is-rejected", "is-pending");
    cells[index].classList.add("is-" + state);
    cells[index].dataset.mark = stateLabel[state];  // the mark's word ("✓ kept"), in the page's language
  }

  cells.forEach((cell, index) => { cell.dataset.mark = stateLabel[stateOf(items[index])]; });

  function counts() {
    const left = items.filter((item) => stateOf(item) === "pending").length;
    document.getElementById("page-left").textContent = left;
  }

  /* The workspace takes the screen's height below where it starts (the CSS keeps a minimum). */
  function fit() {
    const top = workspace.getBoundingClientRect().top + window.scrollY;
    const margin = 8;
    workspace.style.setProperty("--review-height", Math.floor(window.innerHeight - top - margin) + "px");
  }

  /* Scroll the grid's own box (not the page) just enough to show the cell. */
  function reveal(cell) {
    const box = grid.getBoundingClientRect();
    const rect = cell.getBoundingClientRect();
    if (rect.top < box.top) grid.scrollTop -= box.top - rect.top;
    else if (rect.bottom > box.bottom) grid.scrollTop += Math.min(rect.bottom - box.bottom, rect.top - box.top);
  }

  function preload(index) {
    if (index >= 0 && index < items.length) new Image().src = items[index].full;
  }

  function show(index) {
    current = Math.max(0, Math.min(items.length - 1, index));
    const item = items[current];
    cells.forEach((cell, i) => cell.classList.toggle("is-current", i === current));
    stageImg.src = item.full;
    stageImg.alt = item.key;
    stageKey.textContent = item.key;
    stageKey.href = item.change;
    const bred = item.lineage ? ` · ${item.lineage}` : "";
    const seed = interpolate(gettext("seed %s"), [item.seed ?? "–"]);
    stageMeta.textContent = `${item.size} · ${seed}${bred} · ${current + 1}/${items.length}`;
    stagePrompt.textContent = item.prompt;
    stageImg.classList.toggle("quarantined", Boolean(item.quarantined));
    stageSafety.textContent = item.safety || "";
    const state = stateOf(item);
    stageState.textContent = stateLabel[state];
    stageState.className = "badge " + state;
    root.dataset.current = String(current);
    root.dataset.currentId = String(item.id);
    reveal(cells[current]);
    preload(current + 1);
  }

  function nextPending(from) {
    for (let step = 1; step <= items.length; step++) {
      const index = (from + step) % items.length;
      if (stateOf(items[index]) === "pending") return index;
    }
    return -1;
  }

  function send(index, decision, rollbackState) {
    const item = items[index];
    inflight++;
    root.dataset.inflight = String(inflight);
    queue = queue
      .then(() =>
        fetch(config.decideUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
          body: JSON.stringify({ ids: [item.id], decision, emotion: config.emotion, favorite: config.favorite, job: config.job }),
        })
      )
      .then(async (response) => {
        const data = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
        if (data.failed && data.failed[item.id]) throw new Error(data.failed[item.id]);
        document.getElementById("left-count").textContent = data.left;
        document.getElementById("kept-count").textContent = data.kept;
        statusLine.textContent = gettext("Saved");
      })
      .catch((error) => {
        setState(index, rollbackState);
        if (index === current) show(current);
        counts();
        statusLine.textContent = interpolate(gettext("Not saved (%(key)s): %(error)s"), { key: item.key, error: error.message }, true);
      })
      .finally(() => {
        inflight--;
        root.dataset.inflight = String(inflight);
      });
  }

  function decide(state) {
    const index = current;
    const before = stateOf(items[index]);
    if (before === state) {
      if (autoAdvance.checked) advance();
      return;
    }
    undoStack.push({ index, before });
    setState(index, state);
    counts();
    send(index, decisionFor[state], before);
    if (autoAdvance.checked) advance();
    else show(index);
  }

  function advance() {
    const index = nextPending(current);
    show(index === -1 ? Math.min(current + 1, items.length - 1) : index);
  }

  function undo() {
    const entry = undoStack.pop();
    if (!entry) {
      statusLine.textContent = gettext("Nothing to undo");
      return;
    }
    const now = stateOf(items[entry.index]);
    setState(entry.index, entry.before);
    counts();
    send(entry.index, decisionFor[entry.before], now);
    show(entry.index);
  }

  function columns() {
    const top = cells[0].offsetTop;
    const count = cells.findIndex((cell) => cell.offsetTop !== top);
    return count === -1 ? cells.length : count;
  }

  const actions = {
    prev: () => show(current - 1),
    next: () => show(current + 1),
    keep: () => decide("kept"),
    reject: () => decide("rejected"),
    undo: undo,
  };

  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea") || event.altKey || event.metaKey) return;
    if (event.ctrlKey && event.key.toLowerCase() !== "z") return;
    const key = event.key;
    let handled = true;
    if (key === "ArrowLeft" || key === "h") actions.prev();
    else if (key === "ArrowRight" || key === "l") actions.next();
    else if (key === "ArrowUp") show(current - columns());
    else if (key === "ArrowDown") show(current + columns());
    else if (key === "k" || key === "K") actions.keep();
    else if (key === "x" || key === "X" || key === "Delete") actions.reject();
    else if (key === "u" || key === "z" || key === "Z" || key === "U") actions.undo();
    else if (key === " ") advance();
    else if (key === "Home") show(0);
    else if (key === "End") show(items.length - 1);
    else if (key === "o") window.location.href = items[current].change;
    else handled = false;
    if (handled) event.preventDefault();
  });

  root.querySelectorAll("[data-act]").forEach((button) =>
    button.addEventListener("click", () => {
      actions[button.dataset.act]();
      button.blur(); // keep keys going to the page, not to the focused button
    })
  );
  grid.addEventListener("click", (event) => {
    const cell = event.target.closest("li[data-index]");
    if (cell) show(Number(cell.dataset.index));
  });

  fit();
  window.addEventListener("resize", fit);
  counts();
  const first = stateOf(items[0]) === "pending" ? 0 : nextPending(0);
  show(first === -1 ? 0 : first);
  root.dataset.ready = "1";
})();
