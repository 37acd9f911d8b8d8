"""bench/safety.py's prompt-screen part: the screen's time per prompt beside two baselines timed the
same way in the same run, and the refused shares on the test sets (tests/safety/data)."""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

SETS = Path(__file__).resolve().parent.parent / "tests" / "safety" / "data"
_KATAKANA = "\u30a0-\u30ff\uff66-\uff9f"


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
        screen(text)
        best = float("inf")
        for _ in range(batches):
            started = time.perf_counter()
            for _ in range(size):
                screen(text)
            best = min(best, (time.perf_counter() - started) / size)
        times.append(1e6 * best)
    return sorted(times)


def _percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))]


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


def report(calls: int, limit: int | None = None) -> None:
    from safety.terms import matcher

    started = time.perf_counter()
    screen = matcher()
    print(f"prompt screen: {len(screen.categories)} categories compiled in {1000 * (time.perf_counter() - started):.0f} ms")
    sets = {name: load(name) for name in ("prompt_set.json", "held_out.json")}
    texts = [prompt["text"] for prompts in sets.values() for prompt in prompts][:limit]
    rows = {
        "str.casefold (floor)": str.casefold,
        "old screen (glin regex)": old_screen(),
        "new screen (Matcher.find)": screen.find,
        "screen_fields (with the DB read)": screen_fields_call(),
        "of it, the curators' rows read": curator_rows_read(),
    }
    for label, call in rows.items():
        times = per_prompt_us(call, texts, calls)
        p50, p99 = _percentile(times, 0.5), _percentile(times, 0.99)
        print(f"  {label:34s} p50 {p50:8.1f} us   p99 {p99:8.1f} us   ({len(texts)} prompts, best of 5 batches of {max(1, calls // 5)})")
    worst = {name: per_prompt_us(screen.find, [text], max(5, calls // 10))[0] for name, text in long_prompts().items()}
    name = max(worst, key=worst.__getitem__)
    print(f"  worst of {len(worst)} prompts at the 2,000-character limit: {worst[name]:.0f} us ({name})")
    for name, prompts in sets.items():
        _shares(name, prompts[:limit], screen.find)


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
