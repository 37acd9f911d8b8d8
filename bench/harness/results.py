"""Timing, statistics and results for every bench: one way to say a figure and the machine it came from.

- ``machine()``: the load average, the cores this process may use, the revision: written beside
  every figure (a figure on a loaded 2-core machine means little without its load);
- ``summary()``: n, mean, median, standard deviation and error, percentiles of a list of samples;
- ``alternate()``: settings measured in turn, round after round, so that drift on a shared machine
  falls on each alike (what every bench comparing two settings does);
- ``write()``: the results as JSON (``--json``), with the machine at start and end;
- ``compare_revisions()`` (``python -m bench.harness compare``): one bench at two revisions of the
  project, run alternately, each from a checkout of its own, and one figure compared.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def load_line(when: str = "") -> str:
    """ "load average 1.02 0.97 0.88 (2 cores)", as the benches print it beside their figures."""
    values = " ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"load average{' ' + when if when else ''} {values} ({len(os.sched_getaffinity(0))} cores)"


def revision(root: Path = ROOT) -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


def machine() -> dict:
    return {
        "load_average": load_average(),
        "cores": len(os.sched_getaffinity(0)),
        "memory_available_gb": memory_available_gb(),
        "python": sys.version.split()[0],
        "revision": revision(),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def memory_available_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return round(int(line.split()[1]) / 1e6, 1)
    return 0.0


def percentile(values: Iterable[float], q: float) -> float:
    """The nearest-rank percentile (``q`` from 0 to 1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def standard_error(values: list[float]) -> float:
    """The mean's standard error; NaN for fewer than two samples (no spread to say)."""
    return statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else math.nan


def summary(values: Iterable[float], digits: int = 4) -> dict:
    values = list(values)
    if not values:
        return {"n": 0}
    out = {
        "n": len(values),
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
        "se": standard_error(values),
        "min": min(values),
        "p95": percentile(values, 0.95),
        "max": max(values),
    }
    return {key: value if key == "n" or math.isnan(value) else round(value, digits) for key, value in out.items()}


def mean_line(values: list[float], unit: str = "") -> str:
    """ "0.312 ± 0.020 s (standard error, 4 rounds)"."""
    error = standard_error(values)
    spread = f" ± {error:.3f}" if not math.isnan(error) else ""
    said = f"standard error, {len(values)} rounds" if spread else "1 round: no standard error"
    return f"{statistics.fmean(values):.3f}{spread}{' ' + unit if unit else ''} ({said})"


def timed(call: Callable[[], object]) -> tuple[object, float]:
    """``call()``'s value and its wall seconds."""
    started = time.perf_counter()
    value = call()
    return value, time.perf_counter() - started


def repeat(call: Callable[[], object], times: int, warmup: int = 1) -> list[float]:
    """Wall seconds of each of ``times`` calls of ``call``, after ``warmup`` calls not timed."""
    for _ in range(warmup):
        call()
    return [timed(call)[1] for _ in range(times)]


def ms_line(label: str, seconds: list[float]) -> str:
    """ "label: median 1.2 ms, p90 1.7 ms, p95 1.9 ms, mean 1.3 ± 0.1 ms (n 50)", from samples in seconds."""
    ms = [1000 * value for value in seconds]
    error = standard_error(ms)
    spread = f" ± {error:.1f}" if not math.isnan(error) else ""
    return (
        f"{label}: median {statistics.median(ms):.1f} ms, p90 {percentile(ms, 0.9):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms, "
        f"mean {statistics.fmean(ms):.1f}{spread} ms (n {len(ms)})"
    )


def alternate(settings: Iterable[str], rounds: int, measure: Callable[[str, int], dict]) -> dict[str, list[dict]]:
    """``measure(setting, round)`` for each setting in turn, ``rounds`` times over: each setting's results in order."""
    settings = list(settings)
    results: dict[str, list[dict]] = {setting: [] for setting in settings}
    for number in range(rounds):
        for setting in settings:
            results[setting].append(measure(setting, number))
            print(setting, json.dumps(results[setting][-1], default=str), flush=True)
    return results


def write(path: Path | None, bench: str, args: dict, results: dict, started: dict | None = None) -> dict:
    """The results document (bench, arguments, the machine at start and end, results); written to ``path`` when given."""
    document = {"bench": bench, "args": args, "machine": {"start": started or machine(), "end": machine()}, "results": results}
    if path is not None:
        path.write_text(json.dumps(document, indent=2, default=str))
    return document


def figure(document: dict, dotted: str) -> float:
    """A figure by its dotted path in a results document (``results.pull.pictures_per_second``)."""
    value = document
    for part in dotted.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return float(value)


def checkout(revision_name: str, into: Path) -> Path:
    """A detached worktree of ``revision_name`` (the project's git) at ``into``."""
    subprocess.run(["git", "worktree", "add", "--detach", str(into), revision_name], cwd=ROOT, check=True, capture_output=True)
    return into


def compare_revisions(bench: str, revisions: tuple[str, str], rounds: int, dotted: str, bench_args: list[str]) -> dict:
    """``bench`` at revisions A and B, alternately (A, B, A, B …), each from its own checkout with this
    interpreter, its ``--json`` figure ``dotted`` collected: each one's summary and B ÷ A of the medians."""
    work = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    trees = {label: checkout(name, work / f"tree-{label}") for label, name in zip("ab", revisions, strict=True)}
    started = machine()
    values: dict[str, list[float]] = {label: [] for label in trees}
    try:
        for number in range(rounds):
            for label, tree in trees.items():
                out = work / f"{label}-{number}.json"
                command = [sys.executable, str(tree / "bench" / f"{bench}.py"), *bench_args, "--json", str(out)]
                subprocess.run(command, cwd=tree, check=True, stdout=subprocess.DEVNULL)
                values[label].append(figure(json.loads(out.read_text()), dotted))
                print(f"round {number + 1}, {label.upper()} ({revision(tree)}): {dotted} = {values[label][-1]}; {load_line()}", flush=True)
    finally:
        for tree in trees.values():
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    medians = {label: statistics.median(found) for label, found in values.items()}
    compared = {
        "a": summary(values["a"]),
        "b": summary(values["b"]),
        "b_over_a_median": medians["b"] / medians["a"] if medians["a"] else None,
    }
    args = {"revisions": list(revisions), "rounds": rounds, "figure": dotted, "bench_args": bench_args}
    return write(None, bench, args, compared, started)
