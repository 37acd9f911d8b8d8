"""Likes of one emotion from concurrent writers: the counters change token in shards (recommend.tokens)
against one row per emotion, in the same run, on PostgreSQL.

    .venv/bin/python bench/like_contention.py                  # 8 writers, 3 rounds of 10 s per setting
    .venv/bin/python bench/like_contention.py --writers 16 --seconds 5
    .venv/bin/python bench/like_contention.py --smoke          # 2 writers, 1 round of 1 s each: seconds

Every like of an emotion writes a change token for it in the like's own statement (the counters a
/garden copy was read under changed). With one token row per emotion, each like held that row's
lock until its commit, and every other like of the emotion waited for it. Here ``--writers``
threads (default 8: the Procfile's 2 gunicorn workers x 4 threads), each on its own connection,
write likes through ``recommend.eventlog.write_screen`` — the statement `/like` runs — all of one
emotion (``calm``), spread over its search keys as visitors' likes are (three pictures of one key
on screen, one liked), for ``--seconds`` a round. Rounds alternate between ``tokens.SHARDS = 1`` (one
row per emotion: the baseline, the same code as before the shards) and the shipped value, so both
see the same machine load. A separate connection samples ``pg_stat_activity`` every 5 ms: how many
of the writers were waiting on a lock. Prints likes/s, p50/p99 per like, writers waiting on a lock
(mean), and each setting's median likes/s as a ratio to the baseline's.

Uses (and creates) the database ``garden_bench_likes`` on 127.0.0.1 (BENCH_LIKES_DATABASE_URL
overrides it), with 20,000 images over every search key (bench/_data.py, COPY; reused when the
count matches). The counters are emptied before each round.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._data import ensure_database, load  # noqa: E402
from testkit import smoke  # noqa: E402

SMOKE_NEEDS = ("postgresql",)  # tests/bench/test_smoke.py

BENCH_URL = os.environ.get("BENCH_LIKES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/garden_bench_likes")
EMOTION = "calm"


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def screens_of_one_emotion() -> list[list[str]]:
    """Three keys of one search key per screen, for every search key of EMOTION with three pictures."""
    from garden.models import Image

    by_key: dict[str, list[str]] = {}
    for key, search_key in Image.objects.all_pictures().filter(emotion=EMOTION).values_list("key", "search_key"):
        by_key.setdefault(search_key, []).append(key)
    return [keys[:3] for keys in by_key.values() if len(keys) >= 3]


def writer(screens: list[list[str]], until: float, seed: int, latencies: list[float], errors: list[str]) -> None:
    from django.db import connection
    from django.utils import timezone

    from recommend import eventlog

    rng = random.Random(seed)
    try:
        while time.perf_counter() < until:
            shown = rng.choice(screens)
            started = time.perf_counter()
            written = eventlog.write_screen(
                visitor_id=f"bench-{seed}-{rng.randrange(10**9)}",
                item_key=rng.choice(shown),
                impression=shown,
                recommendation_id=None,
                created_at=timezone.now(),
            )
            latencies.append(time.perf_counter() - started)
            if written is None:
                errors.append("a like was not written")
    except Exception as exc:  # reported with the round's figures, and the bench fails
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()


def sample_lock_waits(stop: threading.Event, samples: list[int]) -> None:
    import psycopg

    with psycopg.connect(BENCH_URL, autocommit=True) as conn:
        while not stop.is_set():
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
            samples.append(row[0] if row else 0)
            time.sleep(0.005)


def one_round(shards: int, *, writers: int, seconds: float, screens: list[list[str]], seed: int) -> dict:
    from django.db import connection

    from recommend import tokens
    from recommend.models import CounterChange, FavoriteStat, ImageStat, Interaction

    with connection.cursor() as cursor:
        for model in (Interaction, ImageStat, FavoriteStat, CounterChange):
            cursor.execute(f"TRUNCATE {model._meta.db_table}")
    tokens.SHARDS = shards
    latencies: list[float] = []
    errors: list[str] = []
    waits: list[int] = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample_lock_waits, args=(stop, waits))
    sampler.start()
    until = time.perf_counter() + seconds
    threads = [threading.Thread(target=writer, args=(screens, until, seed * 100 + n, latencies, errors)) for n in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    stored = Interaction.objects.count()
    values = sorted(latencies)
    return {
        "shards": shards,
        "likes_per_s": round(len(values) / elapsed, 1),
        "p50_ms": round(1000 * values[len(values) // 2], 2) if values else None,
        "p99_ms": round(1000 * values[min(len(values) - 1, int(len(values) * 0.99))], 2) if values else None,
        "waiting_on_a_lock": round(statistics.fmean(waits), 2) if waits else 0.0,
        "likes": len(values),
        "stored": stored,
        "errors": errors[:3],
    }


def main() -> int:
    global BENCH_URL
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per setting, alternating")
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--shards", type=int, help="compare this many shards instead of the shipped tokens.SHARDS")
    parser.add_argument("--smoke", action="store_true", help="2 writers, 1 round of 1 s per setting, 3,000 images: seconds")
    args = parser.parse_args()
    if args.smoke:
        BENCH_URL = smoke.database_url("like_contention", BENCH_URL + "_smoke", "BENCH_LIKES_DATABASE_URL")
        args.writers, args.seconds, args.rounds, args.images = 2, 1.0, 1, 3000
    ensure_database(BENCH_URL)
    setup_django()
    from garden.models import Image
    from recommend import tokens

    if Image.objects.all_pictures().count() != args.images:
        load(args.images, 0)
    screens = screens_of_one_emotion()
    shipped = args.shards or tokens.SHARDS
    print(f"{args.writers} writers, {args.seconds:g} s a round, likes of '{EMOTION}' over {len(screens)} search keys")
    print(f"{'shards':>6} {'likes/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'waiting':>8} {'stored':>7}")
    results: dict[int, list[dict]] = {1: [], shipped: []}
    failed = False
    for n in range(args.rounds):
        for shards in (1, shipped):
            row = one_round(shards, writers=args.writers, seconds=args.seconds, screens=screens, seed=n)
            results[shards].append(row)
            print(
                f"{shards:>6} {row['likes_per_s']:>8} {row['p50_ms']:>7} {row['p99_ms']:>7} {row['waiting_on_a_lock']:>8} "
                f"{row['stored']:>7}" + (f"  errors: {row['errors']}" if row["errors"] else ""),
                flush=True,
            )
            failed |= bool(row["errors"]) or row["stored"] != row["likes"] or not row["likes"]
    base = statistics.median(row["likes_per_s"] for row in results[1])
    for shards, rows in results.items():
        median = statistics.median(row["likes_per_s"] for row in rows)
        waiting = statistics.median(row["waiting_on_a_lock"] for row in rows)
        print(f"shards {shards:>2}: median {median} likes/s ({median / base:.2f}x one row per emotion), writers waiting {waiting}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
