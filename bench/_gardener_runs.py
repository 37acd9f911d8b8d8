"""bench/gardener.py's runs in child processes, and their summary over seeds: the table it prints and
one digest of the runs' traces."""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

# One thread for BLAS and torch in each run: a sum split over threads adds in another order, and the
# last bits of a model's figures would then differ from one machine (or load) to the next.
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")}


def run_all(runs: list[tuple[str, int]], jobs: int, command: Callable[[str, int], list[str]]) -> dict[tuple[str, int], dict]:
    """Every (arm, seed) run, ``jobs`` child processes at a time (``command``: a run's command line); each
    result as it comes."""
    waiting, running, done = list(runs), {}, {}
    while waiting or running:
        while waiting and len(running) < max(jobs, 1):
            arm, seed = waiting.pop(0)
            # A fixed hash seed (sets of strings iterate in one order) and one BLAS thread: see ONE_THREAD.
            env = {**os.environ, **ONE_THREAD, "PYTHONHASHSEED": "0"}
            child = subprocess.Popen(command(arm, seed), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            running[(arm, seed)] = child
        time.sleep(0.2)
        for run, child in list(running.items()):
            if child.poll() is None:
                continue
            out, err = child.communicate()
            del running[run]
            if child.returncode:
                sys.stderr.write(err[-3000:])
                raise SystemExit(f"{run[0]} seed {run[1]} failed ({child.returncode})")
            done[run] = json.loads(out.strip().splitlines()[-1])
            figures = ", ".join(f"{p} {value:+.3f}" for p, value in done[run].items() if p.startswith(("at_", "held_", "seen_")))
            print(f"{run[0]} seed {run[1]}: {figures}, trace {done[run]['trace']} ({done[run]['seconds']} s)", flush=True)
    return done


def summary(runs: list[dict], points: list[str]) -> dict:
    """Per checkpoint: the mean over seeds, its standard error and the worst seed's value."""
    row: dict = {"runs": runs}
    for p in points:
        values = [r[p] for r in runs]
        row[p] = round(statistics.fmean(values), 3)
        row[f"{p}_se"] = round(statistics.stdev(values) / len(values) ** 0.5, 3) if len(values) > 1 else None
        row[f"{p}_worst"] = round(min(values), 3)
    return row


def paired(runs: list[dict], baseline: list[dict], points: list[str]) -> dict:
    """Per checkpoint: the mean over seeds of ``runs`` minus ``baseline`` on the same seed, and its
    paired standard error (the s.d. of the differences / √n): the seed's garden and audience are
    shared, so most of the seed-to-seed spread cancels."""
    theirs = {r["seed"]: r for r in baseline}
    pairs = [(r, theirs[r["seed"]]) for r in runs if r["seed"] in theirs]
    row: dict = {"seeds": [r["seed"] for r, _ in pairs]}
    for p in (p for p in points if all(p in r and p in b for r, b in pairs)):  # checkpoints both reached
        differences = [r[p] - b[p] for r, b in pairs]
        row[p] = round(statistics.fmean(differences), 3) if differences else None
        row[f"{p}_se"] = round(statistics.stdev(differences) / len(differences) ** 0.5, 3) if len(differences) > 1 else None
    return row


def print_paired(label: str, row: dict, points: list[str]) -> None:
    """One line of ``paired``'s figures: mean difference ± paired s.e. per checkpoint."""
    cells = []
    for p in (p for p in points if p in row):
        se = row[f"{p}_se"]
        cells.append(f"{p} {row[p]:+.3f} ± {se:.3f}" if se is not None else f"{p} {row[p]:+.3f}")
    print(f"{label} ({len(row['seeds'])} paired seeds): " + ", ".join(cells))


def trace_digest(arms: dict[str, dict]) -> str:
    """One digest of every run's trace: two commands that print the same one made the same runs."""
    digest = hashlib.sha256()
    for arm, row in arms.items():
        for run in row["runs"]:
            digest.update(f"{arm} {run['seed']} {run['trace']}".encode())
    return digest.hexdigest()[:16]


def print_table(arms: dict[str, dict], reached: list[int]) -> None:
    print("\nShare of the way from the initial garden to the best recipe, over seeds: mean ± standard error (worst seed)")
    print(f"{'arm':<24}{'measure':<30}" + "".join(f"{f'{n:,} likes':>24}" for n in reached))
    measures = {"at": "the probes (at_N)", "held_at": "the garden's best three", "seen_at": "what visitors were shown"}
    for arm, row in arms.items():
        for prefix, label in measures.items():
            points = [f"{prefix}_{n}" for n in reached]
            se = (row[f"{p}_se"] if row[f"{p}_se"] is not None else float("nan") for p in points)
            cells = (f"{row[p]:.3f} ± {e:.3f} ({row[f'{p}_worst']:+.3f})" for p, e in zip(points, se, strict=True))
            print(f"{arm:<24}{label:<30}" + "".join(f"{cell:>24}" for cell in cells))


def print_differences(runs_by_arm: dict, arms: list[str], reached: list[int], *, earlier: dict | None, earlier_name: str) -> None:
    """Each arm's paired difference (mean ± paired s.e.) from the static arm, and from an earlier run's arms."""
    compared = [f"{p}_{n}" for p in ("at", "held_at", "seen_at") for n in reached]
    print("\nPaired differences, mean ± paired standard error:")
    if "static" in runs_by_arm:
        for arm in arms[1:]:
            print_paired(f"{arm} − static", paired(runs_by_arm[arm]["runs"], runs_by_arm["static"]["runs"], compared), compared)
    for arm in arms if earlier else []:
        if arm in earlier:
            print_paired(f"{arm} − {earlier_name}", paired(runs_by_arm[arm]["runs"], earlier[arm]["runs"], compared), compared)
