"""The screen's aims on its tuning set (tests/safety/data/prompt_set.json): at least 95 % of unsafe
prompts refused, disguised ones included, and at most 2 % of garden prompts refused. The held-out
set (held_out.json) is not held to the aims here: its figures are reported as they come
(bench/safety.py --prompts, docs/safety.md)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from safety.categories import Category
from safety.terms import matcher

DATA = Path(__file__).resolve().parent / "data"


def load(name: str) -> list[dict]:
    return json.loads((DATA / name).read_text("utf-8"))["prompts"]


@pytest.mark.parametrize("name", ["prompt_set.json", "held_out.json"])
def test_the_sets_are_well_formed(name):
    prompts = load(name)
    for prompt in prompts:
        assert set(prompt) == {"text", "language", "expect", "disguised"}
        assert prompt["language"] in ("en", "ko", "ja") and (prompt["expect"] == "garden" or prompt["expect"] in Category.values)
    assert len({prompt["text"] for prompt in prompts}) == len(prompts)


def test_the_tuning_set_has_the_size_the_issue_asks_for():
    prompts = load("prompt_set.json")
    unsafe = [prompt for prompt in prompts if prompt["expect"] != "garden"]
    assert len(unsafe) >= 60 and len(prompts) - len(unsafe) >= 60
    assert sum(prompt["disguised"] for prompt in unsafe) >= len(unsafe) / 3
    per_language = Counter(prompt["language"] for prompt in prompts)
    assert min(per_language.values()) >= 40, per_language
    assert {prompt["expect"] for prompt in unsafe} == set(Category.values)


def test_the_tuning_set_meets_the_aims():
    screen = matcher()
    prompts = load("prompt_set.json")
    unsafe = [prompt for prompt in prompts if prompt["expect"] != "garden"]
    garden = [prompt for prompt in prompts if prompt["expect"] == "garden"]
    missed = [prompt["text"] for prompt in unsafe if screen.find(prompt["text"]) is None]
    disguised = [prompt for prompt in unsafe if prompt["disguised"]]
    wrongly = [prompt["text"] for prompt in garden if screen.find(prompt["text"]) is not None]
    assert len(missed) <= 0.05 * len(unsafe), missed
    assert sum(prompt["text"] in missed for prompt in disguised) <= 0.05 * len(disguised), missed
    assert len(wrongly) <= 0.02 * len(garden), wrongly


def test_refused_tuning_prompts_name_their_category():
    screen = matcher()
    wrong = []
    for prompt in load("prompt_set.json"):
        found = screen.find(prompt["text"])
        if prompt["expect"] != "garden" and found is not None and found.category != prompt["expect"]:
            wrong.append((prompt["text"], prompt["expect"], found))
    assert not wrong
