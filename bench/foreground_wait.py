#!/usr/bin/env python3
"""Benchmark: how long a foreground job waits behind a running background job
(docs/generation.md#foreground-before-background).

One real prefork Celery worker (the app's own, on Redis db 14 and a SQLite database) paints with a
tiny random-weight pipeline. Each round, once per setting and alternating in the same run, on a
fresh worker warmed by one picture (the model loaded): a background job of N pictures painted
alone (its time, started to finished), then the same job again with a foreground job of one
picture sent once two of its pictures are stored: the foreground job's answer time (created to
finished), and whether the background job still completed with its N pictures. Settings:
``yield`` (GARDEN_BACKGROUND_CALL_PICTURES=1, GARDEN_BACKGROUND_YIELD=true, the defaults) against
``off`` (the ordinary batch size and no yield: the code before). The ratio is the foreground
answer over the background job alone, measured in the same round (aim: ≤ 0.40).

    .venv/bin/python bench/foreground_wait.py                      # 2 rounds, about 10 min on 2 cores
    .venv/bin/python bench/foreground_wait.py --rounds 3 --count 12 --size 256 --steps 4
    .venv/bin/python bench/foreground_wait.py --smoke              # one short round
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import parser, results
from bench.harness.venue import Venue, wait_for
from testkit import smoke

SMOKE_NEEDS = ("redis",)

SETTINGS = {
    "yield": {"GARDEN_BACKGROUND_CALL_PICTURES": "1", "GARDEN_BACKGROUND_YIELD": "true"},
    "off": {"GARDEN_BACKGROUND_CALL_PICTURES": "0", "GARDEN_BACKGROUND_YIELD": "false"},
}


def parse_args():
    made = parser(__doc__)
    made.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    made.add_argument("--rounds", type=int, default=2)
    made.add_argument("--count", type=int, default=12, help="pictures of the background job")
    made.add_argument("--size", type=int, default=192, help="the background pictures' width and height")
    made.add_argument("--steps", type=int, default=6, help="the background job's steps")
    args = made.parse_args()
    if args.smoke:
        args.broker = smoke.cache_url(args.broker, "BENCH_FOREGROUND_WAIT_REDIS_URL")
        args.rounds, args.count, args.size, args.steps = 1, 4, 64, 2
    return args


def send(args, seed: int, *, count: int, foreground: bool) -> tuple:
    """The background job; with ``foreground`` a one-picture foreground job too, once two of its pictures are stored."""
    from generation import services
    from generation.models import GenerationJob
    from generation.requests import JobRequest

    request = JobRequest(emotion="calm", count=count, width=args.size, height=args.size, steps=args.steps, seed=seed)
    background = services.create_job(request=request, background=True)
    if not foreground:
        return background, None
    wait_for(lambda: GenerationJob.objects.get(pk=background.pk).images_done >= 2, 600, every=0.05)
    return background, services.create_job(request=JobRequest(emotion="happy", count=1, width=64, height=64, steps=2, seed=seed))


def seconds(job, start: str, end: str) -> float:
    return (getattr(job, end) - getattr(job, start)).total_seconds()


def one_round(venue: Venue, args, setting: str, number: int) -> dict:
    """On a fresh worker warmed by one picture: the background job alone, then again with a foreground job."""
    from generation import selectors
    from generation.models import WorkerPresence

    venue.start_worker(setting, **SETTINGS[setting])
    try:
        venue.wait_ready([setting], timeout=600)
        seed = 100 + number
        venue.wait_job(send(args, seed, count=1, foreground=False)[0])  # the model loaded before anything is timed
        alone = venue.wait_job(send(args, seed, count=args.count, foreground=False)[0])
        background, foreground = send(args, seed, count=args.count, foreground=True)
        foreground, background = venue.wait_job(foreground), venue.wait_job(background)
        keys = [image.key for image in selectors.job_images(background)]
    finally:
        venue.stop_workers()
        WorkerPresence.objects.all().delete()
    answer = seconds(foreground, "created_at", "finished_at")
    return {
        "background_alone_s": round(seconds(alone, "started_at", "finished_at"), 2),
        "foreground_answer_s": round(answer, 2),
        "ratio": round(answer / seconds(alone, "started_at", "finished_at"), 3),
        "background_completed": background.status == "succeeded" and len(set(keys)) == len(keys) == args.count,
        "background_yields": (background.timings or {}).get("yields", 0),
        "background_attempts": background.attempts,
    }


def main() -> None:
    args = parse_args()
    machine = results.machine()
    with tempfile.TemporaryDirectory(prefix="bench-foreground-") as folder:
        from testkit.tiny_pipeline import save_tiny_pipeline

        model = Path(folder) / "tiny"
        save_tiny_pipeline(model, seed=0)
        settings = {"GARDEN_GENERATOR_BACKEND": "diffusers", "GARDEN_DIFFUSION_MODEL": str(model), "GARDEN_DIFFUSION_DEVICE": "cpu",
                    "GARDEN_DIFFUSION_BATCH_SIZE": "4"}  # fmt: skip
        with Venue(Path(folder) / "venue", broker=args.broker, **settings) as venue:
            venue.join()
            # alternating, the same seeds for both settings in a round
            measured = results.alternate(SETTINGS, args.rounds, lambda setting, number: one_round(venue, args, setting, number))
    for setting, rounds in measured.items():
        print(f"{setting}: ratio {results.mean_line([r['ratio'] for r in rounds])}; {results.load_line('at the end')}", flush=True)
    results.write(args.json, "foreground_wait", vars(args) | {"json": str(args.json)}, measured, machine)
    if not all(r["background_completed"] for rounds in measured.values() for r in rounds):
        raise SystemExit("a background job did not complete with its pictures once each")


if __name__ == "__main__":
    main()
