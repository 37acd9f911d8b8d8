"""Where a web worker's CPU goes under load: py-spy samples of gunicorn's workers, summarised.

Used by ``bench/serving.py --profile``. py-spy (requirements/dev.txt) samples each worker from the
outside (``--nonblocking``: the worker is never paused) while wrk drives one endpoint. Only the
thread holding the GIL is sampled (``--gil``): a worker's threads take turns on it, and waiting on
a socket, PostgreSQL or Redis releases it, so the samples are the worker's Python CPU time (py-spy's
own idle detection counted threads blocked in a socket read as running). Time in the kernel
sending and receiving (GIL released) is not in them. The summary gives, as shares of the samples:

- **by package**: the innermost frame's package (django, rest_framework, psycopg, redis, our apps,
  the standard library …): where the CPU was actually spent;
- **by function, inclusive**: every frame of a sample counts once, so a view's share includes what it
  called: which step of the request costs what.

The raw samples (flame-graph "collapsed" format) are kept beside the summary, for
``flamegraph.pl`` or speedscope.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
OUR_APPS = ("config", "garden", "recommend", "generation", "curation", "displays", "insights", "gardener", "bench")


def start(worker_pids: list[int], *, seconds: float, out: Path, cores: list[str]) -> list[tuple[subprocess.Popen, Path]]:
    """Start one py-spy per worker; returns the processes and where each writes its samples."""
    beside = Path(sys.executable).parent / "py-spy"  # the venv's, when the venv is not on PATH
    spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install -r requirements/dev.txt")
    out.mkdir(parents=True, exist_ok=True)
    started = []
    for pid in worker_pids:
        path = out / f"{pid}.collapsed.txt"
        command = [*cores, spy, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))), "--rate", "200"]
        command += ["--gil", "--nonblocking", "--format", "raw", "--output", str(path)]
        started.append((subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), path))
    return started


def finish(started: list[tuple[subprocess.Popen, Path]], *, top: int = 25) -> dict:
    """Wait for the samplers and summarise their samples (see the module docstring)."""
    stacks: Counter[str] = Counter()
    for process, path in started:
        _, errors = process.communicate(timeout=120)
        if process.returncode != 0 or not path.exists():
            raise RuntimeError(f"py-spy failed ({process.returncode}): {errors.decode(errors='replace')[-500:]}")
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                stacks[stack] += int(count)
    return summarise(stacks, top=top)


def summarise(stacks: Counter[str], *, top: int = 25) -> dict:
    total = sum(stacks.values())
    by_package: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for stack, count in stacks.items():
        parsed = (_parse(frame) for frame in stack.split(";")[1:])  # the first entry names the thread
        frames = [frame for frame in parsed if frame]
        if not frames:
            continue
        by_package[_package(frames[-1][1])] += count
        for name in {f"{function} ({_short(file)})" for function, file in frames}:
            inclusive[name] += count

    def shares(counter: Counter[str], limit: int) -> list[list]:
        return [[name, round(100 * count / total, 1)] for name, count in counter.most_common(limit)] if total else []

    return {"samples": total, "by_package_percent": shares(by_package, 15), "inclusive_percent": shares(inclusive, top)}


def report(name: str, summary: dict) -> None:
    print(f"\nprofile of {name}: {summary['samples']} samples of running workers")
    print("  by package (innermost frame): " + ", ".join(f"{package} {share}%" for package, share in summary["by_package_percent"]))
    print("  by function, inclusive:")
    for function, share in summary["inclusive_percent"]:
        print(f"    {share:5.1f}%  {function}")


def _parse(frame: str) -> tuple[str, str] | None:
    match = FRAME.match(frame.strip())
    return (match["function"], match["file"]) if match else None


def _short(file: str) -> str:
    """A frame's file from its package on (site-packages/django/db/… → django/db/…)."""
    parts = Path(file).parts
    for marker in ("site-packages", "python3.11"):
        if marker in parts:
            return "/".join(parts[parts.index(marker) + 1 :])
    for app in OUR_APPS:
        if app in parts:
            return "/".join(parts[parts.index(app) :])
    return file


def _package(file: str) -> str:
    parts = Path(file).parts
    if "site-packages" in parts:
        rest = parts[parts.index("site-packages") + 1 :]
        return rest[0].removesuffix(".py") if rest else file
    for app in OUR_APPS:
        if app in parts:
            return f"{app} (ours)"
    return "python (stdlib)" if "python3.11" in parts else file
