"""Parts of bench/kiosk_soak.py: the page-side latency probe, the page's metrics over CDP, the plot."""

from __future__ import annotations

import statistics
from pathlib import Path

# Injected (add_init_script) only into the latency run's page, never the soak's: it adds a listener
# and an observer of its own. The start is the capture click's event time (the visitor's touch);
# the end is the last of the new garden pictures' Element Timing renderTime (the frame that painted
# it), or, where Chromium gives none, the frame after all of them decoded (img.decode, then two
# animation frames). Both clocks are the page's performance.now(); nothing is timed from Python.
LATENCY_PROBE = r"""
(() => {
  const soak = (window.__soak = { latencies: [], pending: null, via: [] });
  document.addEventListener("click", (event) => {
    if (event.target.closest && event.target.closest("#capture-button")) { soak.pending = event.timeStamp; }
  }, true);
  const painted = new Map();  // img element → renderTime
  if (PerformanceObserver.supportedEntryTypes.includes("element")) {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (entry.identifier === "soak-garden" && entry.element) { painted.set(entry.element, entry.renderTime || entry.loadTime); }
      }
    }).observe({ type: "element", buffered: false });
  }
  const frames = () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  function finish(start, imgs) {
    Promise.all(imgs.map((img) => img.decode().catch(() => null))).then(frames).then(() => {
      const shown = performance.now();
      // Element Timing entries are queued after the paint: give them up to a second to arrive.
      const settle = (tries) => {
        const times = imgs.map((img) => painted.get(img));
        const timed = times.every((t) => t > 0);
        if (!timed && tries > 0) { setTimeout(() => settle(tries - 1), 50); return; }
        const end = timed ? Math.max(...times) : shown;
        soak.latencies.push(end - start);
        soak.via.push(timed ? "element-timing" : "decode+frames");
        performance.measure("soak: capture → garden painted", { start: start, end: end });
        imgs.forEach((img) => painted.delete(img));
      };
      settle(20);
    });
  }
  document.addEventListener("DOMContentLoaded", () => {
    const garden = document.getElementById("garden");
    new MutationObserver((records) => {
      for (const record of records) {
        record.addedNodes.forEach((node) => {
          if (!node.querySelectorAll) { return; }
          node.querySelectorAll("img[data-key]").forEach((img) => img.setAttribute("elementtiming", "soak-garden"));
        });
      }
      const imgs = Array.from(garden.querySelectorAll("img[data-key]"));
      if (soak.pending === null || !imgs.length) { return; }
      const start = soak.pending;
      soak.pending = null;
      finish(start, imgs);
    }).observe(garden, { childList: true, subtree: true });
  });
})();
"""

METRICS = ("JSHeapUsedSize", "JSHeapTotalSize", "Nodes", "JSEventListeners", "Documents", "Frames", "LayoutObjects")


class PageMetrics:
    """The page's own counters over its CDP session, after a forced garbage collection."""

    def __init__(self, page):
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Performance.enable")

    def sample(self) -> dict:
        for _ in range(2):  # a second pass collects what the first one's finalizers freed
            self.cdp.send("HeapProfiler.collectGarbage")
        values = {m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]}
        out = {name: values.get(name, 0) for name in METRICS}
        out["heap_used"] = self.cdp.send("Runtime.getHeapUsage")["usedSize"]
        return out

    def throttle(self, rate: float) -> None:
        self.cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})


def slope_per_1000(points: list[tuple[int, float]]) -> float:
    """Least-squares growth per 1,000 visitors."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 1000 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


def plot(samples: list[dict], baseline: dict, path: Path, *, title: str) -> None:
    """Heap after a forced GC against visitors served, the +5 MB band over the baseline, and the
    DOM nodes and listeners below it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [s["visitors"] for s in samples]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    top.plot(xs, [s["JSHeapUsedSize"] / 2**20 for s in samples], marker=".", label="JS heap used after forced GC")
    base = baseline["JSHeapUsedSize"] / 2**20
    top.axhline(base, color="grey", linestyle="--", linewidth=1, label=f"after {baseline['visitors']} visitors: {base:.2f} MB")
    top.axhline(base + 5, color="tab:red", linestyle=":", linewidth=1, label="aim: at most +5 MB")
    top.set_ylabel("MB")
    top.set_ylim(0, max(base + 6, max(s["JSHeapUsedSize"] for s in samples) / 2**20 * 1.1))
    top.legend(loc="lower right", fontsize=8)
    top.set_title(title, fontsize=10)
    bottom.plot(xs, [s["Nodes"] for s in samples], marker=".", label="DOM nodes")
    bottom.plot(xs, [s["JSEventListeners"] for s in samples], marker=".", label="event listeners")
    bottom.set_xlabel("visitors served")
    bottom.set_ylim(0, None)
    bottom.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
