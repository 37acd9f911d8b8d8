"""The harness's command line.

``python -m bench.harness compare A B BENCH --figure results.x.y [--rounds 3] [-- bench args]``: one
bench at two revisions, run alternately, each from a checkout of its own (results.compare_revisions).
``python -m bench.harness check``: a venue on SQLite with a file store, this process joined and the
web serving its database, each part asked one question (tests/bench/test_harness.py runs it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.harness import results
from bench.harness.venue import Venue


def check() -> dict:
    """Each part of a venue asked one question: the database migrated (a copy of the template), the
    store made, this process reading the database, the web answering over it."""
    with tempfile.TemporaryDirectory(prefix="bench-venue-check-") as folder, Venue(Path(folder), store="file") as venue:
        venue.manage("migrate", "--check")  # exits non-zero (the venue stops) when a migration is not applied
        venue.join()
        from django.contrib.auth import get_user_model

        get_user_model().objects.create_user("venue-check", password="venue-check-password")
        with venue.web(workers=1, threads=2) as server, urllib.request.urlopen(server.base + "/api/schema", timeout=30) as answer:
            web = answer.status
        users = venue.manage("shell", "-c", "from django.contrib.auth import get_user_model; print(get_user_model().objects.count())")
        return {
            "database": venue.env["DATABASE_URL"].split(":", 1)[0],
            "migrated": True,
            "store": (venue.work / "store").is_dir(),
            "web_schema_status": web,
            "users_seen_by_another_process": int(users.split()[-1]),
        }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.harness", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    compare = commands.add_parser("compare", help="one bench's figure at two revisions, alternated")
    compare.add_argument("a", help="the baseline revision (a commit, a branch)")
    compare.add_argument("b", help="the revision compared with it")
    compare.add_argument("bench", help="the bench's name: bench/<name>.py, which must take --json")
    compare.add_argument("--figure", required=True, help="the figure's dotted path in the bench's --json document")
    compare.add_argument("--rounds", type=int, default=3)
    compare.add_argument("--out", type=Path, help="write the comparison there as JSON")
    commands.add_parser("check", help="a venue on SQLite with a file store: each part asked one question")
    own, rest = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    args = parser.parse_args(own)
    if args.command == "check":
        answers = check()
        print(json.dumps(answers))
        return 0 if answers["web_schema_status"] == 200 and answers["users_seen_by_another_process"] == 1 else 1
    document = results.compare_revisions(args.bench, (args.a, args.b), args.rounds, args.figure, rest)
    text = json.dumps(document, indent=2, default=str)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
