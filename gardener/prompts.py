"""Prompt mutations for diffusers children: a parent's prompt with one or two words of the key's
word bank (gardener.models.WordBank) added or swapped in. Free of the database.

A prompt is read as comma-separated phrases ("calm, spring,sunny,day, flowers, fantasy"). A change
either **adds** a bank word as a new phrase at a random place after the first (the first phrase,
usually the emotion, keeps its place and weight), or **swaps** a phrase that is a bank word for
another bank word. Everything else in the prompt is kept byte for byte (its separators too), so
the child paints its parent's picture with a word more or a word changed. Phrases in ``keep`` (the
key's emotion and favorite words) are never swapped out nor split apart, so a child stays in its key.

Prompts do not grow without end over generations: a prompt that already holds MAX_BANK_PHRASES
bank words only swaps. Deterministic under the ``rng`` given.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from generation.requests import TEXT_LIMITS

MAX_CHANGES = 2  # one or two words a child: enough to be seen, few enough to stay the parent's picture
MAX_BANK_PHRASES = 4  # a prompt holding this many bank words swaps rather than adds
SWAP_SHARE = 0.5  # when a prompt holds a bank word: the chance a change swaps it rather than adds one
WORD_LIMIT = 60  # characters of one bank word or phrase
PROMPT_LIMIT = TEXT_LIMITS["prompt"]
_SEPARATOR = re.compile(r"(\s*,\s*)")
_SPLIT_WORDS = re.compile(r"[,\n]")
# Prompt syntax a bank word may not carry: <lora:…> tags are taken out of prompts by the job request.
_FORBIDDEN = ("<", ">")


@dataclass(frozen=True)
class PromptMutation:
    prompt: str
    changes: tuple[str, ...]  # for people: "added 'misty lake'", "swapped 'fog' for 'dew'"


def parse_words(text: str) -> list[str]:
    """A word bank's text (words or short phrases separated by commas or new lines) as a list,
    blanks dropped, the first of case-insensitive duplicates kept, spaces inside a phrase collapsed."""
    words: list[str] = []
    seen: set[str] = set()
    for raw in _SPLIT_WORDS.split(text or ""):
        word = " ".join(raw.split())
        if word and word.casefold() not in seen:
            seen.add(word.casefold())
            words.append(word)
    return words


def word_problems(words: Sequence[str]) -> list[str]:
    """What is wrong with a bank's words (for the admin form), [] when nothing is."""
    problems = []
    if not words:
        problems.append("Give at least one word.")
    for word in words:
        if len(word) > WORD_LIMIT:
            problems.append(f"{word[:20]!r}…: at most {WORD_LIMIT} characters a word or phrase.")
        if any(mark in word for mark in _FORBIDDEN):
            problems.append(f"{word!r}: no < or > (LoRA tags are not words).")
    return problems


def mutate_prompt(prompt: str, words: Sequence[str], rng: random.Random, *, keep: Collection[str] = ()) -> PromptMutation | None:
    """``prompt`` with one or two of ``words`` added or swapped in; None when no word of the bank
    can change it (every word already there, or the prompt at its length limit)."""
    bank = {word.casefold(): word for word in words}
    kept = {word.casefold() for word in keep}
    changes: list[str] = []
    introduced: set[str] = set()  # words this mutation brought in: not swapped out again by it
    for _ in range(rng.randint(1, MAX_CHANGES)):
        tokens = _SEPARATOR.split(prompt)  # phrase, separator, phrase, …
        phrases = tokens[0::2]
        names = [phrase.strip().casefold() for phrase in phrases]
        fresh = [word for word in words if word.casefold() not in names]
        if not fresh:
            break
        word = rng.choice(fresh)
        swappable = [2 * i for i, name in enumerate(names) if i > 0 and name in bank and name not in kept | introduced]
        banked = sum(1 for name in names if name in bank)
        if swappable and (banked >= MAX_BANK_PHRASES or rng.random() < SWAP_SHARE):
            at = rng.choice(swappable)
            old = tokens[at].strip()
            tokens[at] = tokens[at].replace(old, word, 1)
            change = f"swapped {old!r} for {word!r}"
        elif banked >= MAX_BANK_PHRASES:
            break  # full of bank words that may not be swapped (the key's own words)
        elif not prompt.strip():
            tokens, change = [word], f"added {word!r}"
        else:
            # After phrase place − 1: never before the first, nor between two of the key's own
            # words (a composed prompt's favorite "spring,sunny,day" stays one piece).
            places = [p for p in range(1, len(phrases) + 1) if p == len(phrases) or not {names[p - 1], names[p]} <= kept]
            place = rng.choice(places)
            tokens[2 * place - 1 : 2 * place - 1] = [", ", word]
            change = f"added {word!r}"
        mutated = "".join(tokens)
        if len(mutated) > PROMPT_LIMIT:
            break
        prompt = mutated
        changes.append(change)
        introduced.add(word.casefold())
    return PromptMutation(prompt, tuple(changes)) if changes else None
