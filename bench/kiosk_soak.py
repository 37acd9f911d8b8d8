"""Benchmark: a kiosk page's three busy days (issue 50's aims), in one real Chromium tab.

A gunicorn (testkit/servers.py: its own SQLite database, the production static files, a demo garden)
and a live worker (Celery on the embedded filesystem broker, the procedural painter: the Procfile's
``live`` line) serve the real kiosk page; headless Chromium's fake camera films a real face (the
astronaut clip of tests/kiosk). One tab serves N visitors, each the way a person does: Capture,
the garden shows (its pictures loaded), a Like, Next, then nobody touches the screen and the idle
reset starts over (``?idle=``, the page's own override of GARDEN_KIOSK_IDLE_SECONDS, shortened so
thousands of visitors fit in an hour). Every ``--sample-every`` visitors, at the start state, the
page's heap is measured after a forced garbage collection (CDP HeapProfiler.collectGarbage, then
Performance.getMetrics: JSHeapUsedSize, Nodes, JSEventListeners, Documents).

Aims: the heap after GC within +5 MB of its value after the first 100 visitors (the baseline, same
run), DOM nodes and listeners flat, no console error or page error, every like delivered (likes
clicked = POST /like requests = Interaction rows of event ``click``; the page's outbox empty at the
end), no reload of the page on its own (the screen beacon reloads a page whose heap passed its bound).

Then, in a second tab with the CPU throttled 4× (CDP Emulation.setCPUThrottlingRate, DevTools'
low-end-device preset): capture → garden pictures painted, measured in the page (Element Timing of
the new pictures against the Capture click's event time: bench/_soak_parts.py). Aim: p50 ≤ 1.5 s.

The kiosk throttles (GARDEN_KIOSK_RATE, GARDEN_LIVE_RATE) and the live pictures' daily budget
(GARDEN_LIVE_DAILY_BUDGET) are lifted for the run: one bench kiosk
serves a visitor every second or two, a real one every half minute or more.

    .venv/bin/python bench/kiosk_soak.py                       # 2,000 visitors + 40 throttled captures
    .venv/bin/python bench/kiosk_soak.py --visitors 300 --captures 0
    .venv/bin/python bench/kiosk_soak.py --visitors 0 --captures 40      # the timed captures only
    .venv/bin/python bench/kiosk_soak.py --smoke               # 6 visitors, 3 captures: the whole path
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SMOKE_NEEDS = ("chromium",)  # tests/bench/test_smoke.py: marked browser

from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from bench._soak_parts import LATENCY_PROBE, PageMetrics, plot, slope_per_1000  # noqa: E402
from bench.harness.results import percentile  # noqa: E402

OUTBOX = "JSON.parse(localStorage.getItem('garden.kiosk.outbox.v1') || '[]').length"
GARDEN_LOADED = """() => { const imgs = Array.from(document.querySelectorAll('#garden img[data-key]'));
  return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0); }"""
AT_START = """() => document.getElementById('capture-state').dataset.state === 'idle'
  && document.getElementById('garden').hidden && document.getElementById('idle-countdown').hidden
  && !document.getElementById('capture-button').disabled"""
NEXT_SHOWN = "(key) => { const i = document.querySelector('#garden img[data-key]'); return !i || i.dataset.key !== key; }"
STEP_MS = 5000
HEAP_AIM = 5 * 2**20
LATENCY_AIM_MS = 1500


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=2000, help="visitors of the soak (0: no soak)")
    parser.add_argument("--sample-every", type=int, default=20, help="visitors between heap samples")
    parser.add_argument("--baseline-at", type=int, default=100, help="the baseline sample: after this many visitors")
    parser.add_argument("--idle", type=float, default=0.5, help="the page's idle seconds (?idle=; the countdown is as long)")
    parser.add_argument("--captures", type=int, default=40, help="captures timed with the CPU throttled (0: none)")
    parser.add_argument("--throttle", type=float, default=4.0, help="CPU slow-down of the timed captures")
    parser.add_argument("--no-live", action="store_true", help="GARDEN_LIVE_ENABLED=false and no live worker")
    parser.add_argument("--max-minutes", type=float, default=0, help="stop the soak at the first sample past this (0: no limit)")
    parser.add_argument("--plot", type=Path, default=ROOT / "bench" / "results" / "kiosk_soak_heap.png")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--smoke", action="store_true", help="6 visitors, 3 throttled captures, no plot")
    args = parser.parse_args()
    if args.smoke:
        args.visitors, args.sample_every, args.baseline_at, args.captures, args.plot = 6, 2, 2, 3, None
    if args.visitors and (args.visitors < args.baseline_at or args.baseline_at % args.sample_every):
        parser.error("--visitors must reach --baseline-at, a multiple of --sample-every")
    return args


class Watch:
    """What a page said and did: console errors and warnings, page errors, likes sent, reloads."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.like_keys: set[str] = set()
        self.like_answers: dict[int, int] = {}
        self.loads = 0
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("request", self._request)
        page.on("response", self._response)
        page.on("load", self._load)

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console.error: {message.text} ({message.location.get('url', '')})")
        elif message.type == "warning":
            self.warnings.append(message.text)

    def _request(self, request) -> None:
        if request.method == "POST" and request.url.endswith("/like"):
            self.like_keys.add(request.headers.get("idempotency-key", ""))

    def _response(self, response) -> None:
        if response.request.method == "POST" and response.url.endswith("/like"):
            self.like_answers[response.status] = self.like_answers.get(response.status, 0) + 1

    def _load(self, page) -> None:
        self.loads += 1


def visit(page, *, timeout: float) -> tuple[int, int]:
    """One visitor: Capture, the garden loaded, a Like, Next, then hands off until the idle reset.
    (likes clicked, steps lost): with the bench's short idle time a slow driver on a loaded machine
    can meet the idle reset before its next step (the page did right: nobody touched it); that step
    is counted as lost, not as a failure. A like counts once the page sent it (POST /like)."""
    page.wait_for_function(AT_START, timeout=timeout)
    page.click("#capture-button")
    page.wait_for_function(GARDEN_LOADED, timeout=timeout)
    liked = lost = 0
    try:
        with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/like"), timeout=timeout):
            page.locator("#garden .like-button").first.click(timeout=STEP_MS)
        liked = 1
    except PlaywrightTimeout:
        lost += 1
    try:
        if page.is_enabled("#next-button"):
            shown = page.get_attribute("#garden img[data-key]", "data-key", timeout=STEP_MS)
            page.click("#next-button", timeout=STEP_MS)
            page.wait_for_function(NEXT_SHOWN, arg=shown, timeout=STEP_MS)
    except PlaywrightTimeout:
        lost += 1
    page.mouse.move(1, 1)  # off the pictures, as a leaving visitor does; then no input at all
    page.wait_for_function(AT_START, timeout=timeout)
    return liked, lost


def soak(args, chromium, server, result: dict) -> None:
    from bench.fleet import wait_for
    from testkit.camera import KIOSK

    context = chromium.new_context(**KIOSK)
    context.set_default_timeout(30_000)
    page = context.new_page()
    watch = Watch(page)
    page.goto(f"{server.base}/kiosk/?idle={args.idle:g}")
    metrics = PageMetrics(page)
    samples = [{"visitors": 0, **metrics.sample()}]
    liked, started, asked = 0, time.monotonic(), args.visitors
    for n in range(1, args.visitors + 1):
        like, lost = visit(page, timeout=30_000 + args.idle * 4000)
        liked += like
        result["steps_lost"] = result.get("steps_lost", 0) + lost
        if n % args.sample_every == 0:
            sample = {"visitors": n, "seconds": round(time.monotonic() - started, 1), **metrics.sample()}
            samples.append(sample)
            if args.max_minutes and sample["seconds"] > args.max_minutes * 60 and n >= args.baseline_at:
                print(f"  stopped at {n} visitors: --max-minutes {args.max_minutes:g}", flush=True)
                args.visitors = n
                break
            if n % (args.sample_every * 5) == 0 or n == args.visitors:
                print(
                    f"  {n} visitors, {sample['seconds']:.0f} s: heap {sample['JSHeapUsedSize'] / 2**20:.2f} MB, "
                    f"nodes {sample['Nodes']:.0f}, listeners {sample['JSEventListeners']:.0f}",
                    flush=True,
                )
    elapsed = time.monotonic() - started
    result["visitors_asked"] = asked
    wait_for(lambda: page.evaluate(OUTBOX) == 0, timeout=60)
    result.update(soak_figures(args, samples, watch, liked, elapsed))
    result["outbox_left"] = page.evaluate(OUTBOX)
    context.close()


def soak_figures(args, samples: list[dict], watch: Watch, liked: int, elapsed: float) -> dict:
    baseline = next(s for s in samples if s["visitors"] == args.baseline_at)
    after = [s for s in samples if s["visitors"] >= args.baseline_at]
    last = samples[-1]

    def growth(name: str) -> float:
        return last[name] - baseline[name]

    return {
        "visitors": args.visitors,
        "seconds": round(elapsed, 1),
        "seconds_per_visitor": round(elapsed / args.visitors, 3),
        "idle_seconds": args.idle,
        "baseline": baseline,
        "last": last,
        "heap_growth_bytes": growth("JSHeapUsedSize"),
        "heap_max_growth_bytes": max(s["JSHeapUsedSize"] for s in after) - baseline["JSHeapUsedSize"],
        "heap_ratio": round(last["JSHeapUsedSize"] / baseline["JSHeapUsedSize"], 4),
        "heap_slope_bytes_per_1000": round(slope_per_1000([(s["visitors"], s["JSHeapUsedSize"]) for s in after])),
        "nodes_growth": growth("Nodes"),
        "nodes_range_after_baseline": [min(s["Nodes"] for s in after), max(s["Nodes"] for s in after)],
        "listeners_growth": growth("JSEventListeners"),
        "listeners_range_after_baseline": [min(s["JSEventListeners"] for s in after), max(s["JSEventListeners"] for s in after)],
        "documents_range_after_baseline": [min(s["Documents"] for s in after), max(s["Documents"] for s in after)],
        "likes_clicked": liked,
        "likes_sent": len(watch.like_keys),
        "like_answers": watch.like_answers,
        "errors": watch.errors[:20],
        "error_count": len(watch.errors),
        "warning_count": len(watch.warnings),
        "warnings": sorted(set(watch.warnings))[:10],
        "page_loads": watch.loads,
        "samples": samples,
    }


def throttled_captures(args, chromium, server, result: dict) -> None:
    """Capture → garden painted with the CPU slowed down, a new visitor each time (New visitor)."""
    from testkit.camera import KIOSK

    context = chromium.new_context(**KIOSK)
    context.set_default_timeout(60_000)
    page = context.new_page()
    watch = Watch(page)
    page.add_init_script(LATENCY_PROBE)
    load = os.getloadavg()[0]
    page.goto(f"{server.base}/kiosk/")
    PageMetrics(page).throttle(args.throttle)
    for n in range(args.captures):
        page.wait_for_function(AT_START)
        page.click("#capture-button")
        page.wait_for_function("(n) => window.__soak.latencies.length > n", arg=n)
        page.click("#new-visitor")
    latencies = page.evaluate("window.__soak.latencies")
    via = page.evaluate("window.__soak.via")
    context.close()
    warm = latencies[1:] or latencies  # the first capture loads the pictures over the network
    result.update(
        {
            "throttle": args.throttle,
            "load_average": round(load, 2),
            "captures": len(latencies),
            "first_ms": round(latencies[0]),
            "p50_ms": round(percentile(warm, 0.5)),
            "p90_ms": round(percentile(warm, 0.9)),
            "max_ms": round(max(warm)),
            "measured_by": sorted(set(via)),
            "errors": watch.errors[:20],
            "error_count": len(watch.errors),
        }
    )


def live_worker(server):
    """The Procfile's live worker (one process, the live queue) on the server's own settings."""
    log = open(server.var_dir / "live-worker.log", "ab")  # noqa: SIM115 (closed with the process)
    argv = [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "--queues", "live", "--concurrency", "1"]
    argv += ["--pool", "prefork", "--loglevel", "INFO", "--hostname", "live@soak"]
    process = subprocess.Popen(argv, cwd=ROOT, env=server.env, stdout=log, stderr=subprocess.STDOUT)
    return process, log


def run(args, work: Path) -> dict:
    from playwright.sync_api import sync_playwright

    from bench.fleet import wait_for
    from testkit.camera import FAKE_CAMERA_FLAGS, astronaut_frame, write_y4m
    from testkit.chromium import CHROMIUM_ARGS, chromium_path
    from testkit.servers import gunicorn

    clip = write_y4m(work / "face.y4m", astronaut_frame())
    # One bench kiosk serves thousands of visitors in an hour: the throttles and the live pictures'
    # daily budget (2,000 a day: spent half-way through a 2,000-visitor run, then /live answers 503) are lifted.
    settings = {"GARDEN_KIOSK_RATE": "100000/minute", "GARDEN_LIVE_RATE": "100000/minute", "GARDEN_LIVE_DAILY_BUDGET": "0"}
    settings["GARDEN_LIVE_ENABLED"] = "false" if args.no_live else "true"
    (work / "server").mkdir()
    result: dict = {"live": not args.no_live}
    with gunicorn(work / "server", workers=2, threads=4, seed=True, compress_static=False, **settings) as server:
        worker = log = None
        if not args.no_live:
            worker, log = live_worker(server)
            wait_for(lambda: b" ready." in (server.var_dir / "live-worker.log").read_bytes(), timeout=120)
        try:
            executable = chromium_path()
            if not executable:
                raise SystemExit("Chromium is not installed")
            with sync_playwright() as playwright:
                flags = [*CHROMIUM_ARGS, *FAKE_CAMERA_FLAGS, f"--use-file-for-fake-video-capture={clip}"]
                chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=flags)
                if args.visitors:
                    result["soak"] = {}
                    soak(args, chromium, server, result["soak"])
                if args.captures:
                    result["latency"] = {}
                    throttled_captures(args, chromium, server, result["latency"])
                chromium.close()
            if args.visitors:
                result["soak"]["like_rows"] = like_rows(server)
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)
                log.close()
    return result


def like_rows(server) -> int:
    """Interaction rows of event ``click`` in the server's database."""
    out = server.manage("shell", "-c", "from recommend.models import Interaction as I; print(I.objects.filter(event_type='click').count())")
    return int(out.strip().splitlines()[-1])


def report(args, result: dict, load: tuple) -> list[str]:
    """Print the figures; the failures (empty: every aim met)."""
    failures: list[str] = []
    if "soak" in result:
        failures += report_soak(args, result)
    if "latency" in result:
        lat = result["latency"]
        print(f"capture → garden painted, CPU throttled {lat['throttle']:g}×, {lat['captures']} captures: p50 {lat['p50_ms']} ms, "
              f"p90 {lat['p90_ms']} ms, max {lat['max_ms']} ms, first (pictures not cached) {lat['first_ms']} ms "
              f"({', '.join(lat['measured_by'])}); aim p50 ≤ {LATENCY_AIM_MS} ms; errors {lat['error_count']}; "
              f"load average {lat['load_average']:.1f}")  # fmt: skip
        for error in lat["errors"]:
            print("  ", error)
        if lat["error_count"]:
            failures.append("console or page errors in the timed captures")
        if lat["p50_ms"] > LATENCY_AIM_MS:
            print("  the latency aim was missed (see the load average)")
    return failures


def report_soak(args, result: dict) -> list[str]:
    soak, failures, load = result["soak"], [], result["load_average"]
    base, last = soak["baseline"], soak["last"]
    mb = 2**20
    print(f"{soak['visitors']} visitors in one tab, live picture {'on' if result['live'] else 'off'}, idle {soak['idle_seconds']:g} s: "
          f"{soak['seconds']:.0f} s ({soak['seconds_per_visitor']:.2f} s a visitor); load average at start {load[0]:.1f}")  # fmt: skip
    print(
        f"heap after forced GC: {base['JSHeapUsedSize'] / mb:.2f} MB after {base['visitors']} visitors, "
        f"{last['JSHeapUsedSize'] / mb:.2f} MB after {last['visitors']} ({soak['heap_growth_bytes'] / mb:+.2f} MB, "
        f"×{soak['heap_ratio']:.3f}; max {soak['heap_max_growth_bytes'] / mb:+.2f} MB; "
        f"trend {soak['heap_slope_bytes_per_1000'] / mb:+.3f} MB per 1,000 visitors); aim ≤ +5 MB"
    )
    print(f"DOM nodes {base['Nodes']:.0f} → {last['Nodes']:.0f} (range after the baseline {soak['nodes_range_after_baseline']}), "
          f"listeners {base['JSEventListeners']:.0f} → {last['JSEventListeners']:.0f} ({soak['listeners_range_after_baseline']}), "
          f"documents {soak['documents_range_after_baseline']}")  # fmt: skip
    print(f"likes: {soak['likes_clicked']} clicked, {soak['likes_sent']} sent (answers {soak['like_answers']}), "
          f"{soak['like_rows']} rows stored; outbox left {soak['outbox_left']}; console/page errors {soak['error_count']}, "
          f"warnings {soak['warning_count']}; page loads {soak['page_loads']}; "
          f"steps lost to the idle reset (a slow driver) {soak.get('steps_lost', 0)}")  # fmt: skip
    for error in soak["errors"]:
        print("  ", error)
    if soak["error_count"]:
        failures.append("console or page errors")
    if not soak["likes_clicked"] == soak["likes_sent"] == soak["like_rows"] or soak["outbox_left"]:
        failures.append("a like not delivered")
    if soak["page_loads"] != 1:
        failures.append("the page reloaded")
    if not args.smoke:
        if soak["heap_max_growth_bytes"] > HEAP_AIM:
            failures.append("heap grew more than 5 MB")
        for name in ("nodes", "listeners"):
            high = soak[f"{name}_range_after_baseline"][1]
            if high > base["Nodes" if name == "nodes" else "JSEventListeners"] * 1.05 + 20:
                failures.append(f"{name} grew")
    return failures


def main() -> int:
    args = parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args, Path(tmp))
    result["load_average"] = [round(x, 2) for x in load]
    result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    failures = report(args, result, load)
    if args.plot and "soak" in result:
        loads = f"{load[0]:.0f}–{result['load_average_end'][0]:.0f}"
        title = f"kiosk page, one Chromium tab, {result['soak']['visitors']} visitors (load average {loads})"
        plot(result["soak"]["samples"], result["soak"]["baseline"], args.plot, title=title)
        print(f"plot: {args.plot.relative_to(ROOT) if args.plot.is_relative_to(ROOT) else args.plot}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if failures:
        print("FAILED:", "; ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
