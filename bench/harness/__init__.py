"""The one bench harness: the venue (venue.py) and the timing, statistics and results (results.py).

Every bench script runs as ``python bench/X.py`` (its folder's parent on sys.path first), so it
imports ``bench.harness`` as the tests import ``testkit``. ``python -m bench.harness compare``
runs one bench at two revisions alternately (results.compare_revisions).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def parser(doc: str | None) -> argparse.ArgumentParser:
    """A bench's command line: its docstring as the help, and the two flags every bench has:
    ``--smoke`` (the real path at a tiny size: tests/bench/test_smoke.py) and ``--json`` (the results document)."""
    made = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    made.add_argument("--smoke", action="store_true", help="the real path at a tiny size, in seconds; its figures mean nothing")
    made.add_argument("--json", type=Path, default=None, help="write the results document (results.write) there")
    return made
