#!/usr/bin/env python3
"""Run every benchmark under bench/ in turn (`make bench`). Each prints its own figures.

Benchmarks report ratios against a baseline measured in the same run, so figures from different
machines stay comparable. Pass names to run a subset: `python bench/run_all.py recommend curation insights`.
`--smoke` passes ``--smoke`` to each: every bench's path end to end at a tiny size, in seconds
(what tests/bench/test_smoke.py runs one by one; docs/benchmarks.md#smoke-runs).
"""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    smoke = "--smoke" in names
    names = [name for name in names if name != "--smoke"]
    scripts = sorted(path for path in HERE.glob("*.py") if path.name != Path(__file__).name and not path.name.startswith("_"))
    if names:
        scripts = [path for path in scripts if path.stem in names]
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem}", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(script), *(["--smoke"] if smoke else [])], cwd=HERE.parent)
        print(f"=== {script.stem}: exit {result.returncode} in {time.perf_counter() - started:.1f} s", flush=True)
        if result.returncode:
            failed.append(script.stem)
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
