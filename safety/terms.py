"""The screening lists and the matcher that finds an unsafe term in a prompt (docs/safety.md).

The lists are data: one JSON file per category under ``safety/data/`` (terms and exceptions in
English, Korean and Japanese; the minors category also has context words), plus glin-profanity's
dictionaries as the profanity category, less the entries ``data/profanity.json`` drops and those
another category lists. Curators add terms and exceptions per category in the admin
(``safety.models.Term``).

Every list entry and every prompt go through ``safety.normalize``; the entries are compiled into one
Aho-Corasick automaton (pyahocorasick) whose hits are then checked against the entry's rule:

- Latin terms match whole words; a term of four letters or more also matches its plural and verb
  forms ("corpses", "stabbed", "killing"); ``=word`` matches the word alone, ``stem*`` any word
  that starts with the stem ("decapitat*"). Several words also match written together ("selfharm").
- Katakana terms match whole katakana runs ("ナチ" is not found in "ナチュラル"); each katakana term
  is also looked for in hiragana and the other way round. A short hiragana term (three characters
  or fewer) must start a hiragana run ("えろ" is not found in "かえろう").
- Hangul and kanji terms match anywhere, since Korean and Japanese write particles onto words;
  the everyday words that contain one are that category's exceptions ("전성기", "裸木").
- A masked Latin word ("n*de", "f**k": each asterisk one letter) matches a listed word of its
  length that it spells.

An exception is a phrase that holds a term but is fine ("blood orange", "corpse flower", "자살골",
"支那そば"): the exceptions of a category are blanked out of the prompt before that category's terms
are looked for. A context word ("child", "소녀", "女子高生") refuses a prompt only beside a sexual
term, and then as "minors in a sexual context".
"""

from __future__ import annotations

import bisect
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import ahocorasick

from config.caches import memoized
from safety import normalize
from safety.categories import SEVERITY, Category

DATA = Path(__file__).resolve().parent / "data"
LANGUAGES = ("en", "ko", "ja")
GLIN_LANGUAGES = {"en": "english", "ko": "korean", "ja": "japanese"}


class Role:
    TERM = "term"
    EXCEPTION = "exception"
    CONTEXT = "context"


@dataclass(frozen=True)
class Listed:
    """One list entry as written: shipped in safety/data or saved by a curator."""

    category: str
    text: str
    role: str = Role.TERM
    inflect: bool = True  # Latin words of four letters or more also match their -s/-ed/-ing forms


@dataclass(frozen=True)
class Found:
    """What a refused prompt holds: the category, and the listed term (or "context + term")."""

    category: Category
    term: str


# Boundary rules, checked on a hit of the automaton.
ANY, LATIN, INFLECT, KATAKANA, HIRAGANA = range(5)
_LATIN_CHAR = re.compile(r"[a-z0-9]")
_KATAKANA_CHAR = re.compile(r"[\u30a1-\u30fa\u30fc-\u30ff]")
_HIRAGANA_CHAR = re.compile(r"[\u3041-\u309f]")
_SUFFIX = re.compile(r"(?:s|es|ed|d|ing|ings|er|ers|y|ies|ied|ly)?(?![a-z0-9])")
_LETTERS = re.compile(r"[a-z]{4,}$")
# A masked word: letters with asterisks between them, each asterisk one letter ("n*de", "f**k").
_MASKED = re.compile(r"(?<![a-z0-9*])[a-z]+(?:\*+[a-z]+)+(?![a-z0-9*])")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class _Rule:
    category: Category
    shown: str
    role: str
    left: int
    right: int


@dataclass(frozen=True)
class _Hit:
    rule: _Rule
    variant: int
    start: int
    end: int

    def inside(self, other: _Hit) -> bool:
        """Within a longer hit of another category: "kill herself" is self-harm, not "kill". Profanity,
        the general list, never takes a term from a curated category ("裸の女性" stays sexual)."""
        return (
            self.variant == other.variant
            and other.rule.category not in (self.rule.category, Category.PROFANITY)
            and other.start <= self.start
            and self.end <= other.end
            and other.end - other.start > self.end - self.start
        )


def _keys(entry: Listed) -> list[tuple[str, int, int]]:
    """The strings the automaton looks for, each with its left and right boundary rule."""
    raw = entry.text.strip()
    prefix, exact = raw.endswith("*"), raw.startswith("=")
    text = normalize.fold(raw.strip("*="))
    if not text:
        return []
    forms = {text}
    if " " in text:
        forms.add(text.replace(" ", ""))
    for form in list(forms):
        if _KATAKANA_CHAR.search(form) and not _HIRAGANA_CHAR.search(form):
            forms.add(_shift_kana(form, -0x60))
        elif _HIRAGANA_CHAR.search(form) and not _KATAKANA_CHAR.search(form):
            forms.add(_shift_kana(form, 0x60))
    keys = []
    for form in forms:
        left = ANY
        if _LATIN_CHAR.match(form):
            left = LATIN
        elif _KATAKANA_CHAR.match(form):
            left = KATAKANA
        elif _HIRAGANA_CHAR.match(form) and len(form) <= 3:
            left = HIRAGANA
        right = ANY
        if prefix:
            right = ANY
        elif _LATIN_CHAR.match(form[-1]):
            right = INFLECT if entry.inflect and not exact and _LETTERS.search(form) else LATIN
        elif _KATAKANA_CHAR.match(form[-1]):
            right = KATAKANA
        keys.append((form, left, right))
    return keys


def _shift_kana(text: str, offset: int) -> str:
    """Katakana ↔ hiragana (the two blocks sit 0x60 apart; ー and the katakana-only letters stay)."""
    low, high = (0x30A1, 0x30F6) if offset < 0 else (0x3041, 0x3096)
    return "".join(chr(ord(char) + offset) if low <= ord(char) <= high else char for char in text)


def _end(text: str, start: int, end: int, left: int, right: int) -> int | None:
    """Where a hit from start to end really ends under its rules (suffix included), or None."""
    before = text[start - 1] if start else ""
    if left == LATIN and before and _LATIN_CHAR.match(before):
        return None
    if left == KATAKANA and before and _KATAKANA_CHAR.match(before):
        return None
    if left == HIRAGANA and before and _HIRAGANA_CHAR.match(before):
        return None
    after = text[end] if end < len(text) else ""
    if right == LATIN:
        return None if after and _LATIN_CHAR.match(after) else end
    if right == KATAKANA:
        return None if after and _KATAKANA_CHAR.match(after) else end
    if right == INFLECT:
        for at in (end, end + 1) if after == text[end - 1] else (end,):  # "stab" + "b" + "ing"
            suffix = _SUFFIX.match(text, at)
            if suffix:
                return suffix.end()
        return None
    return end


class Matcher:
    """Finds the most severe unsafe term of a prompt; compiled once per set of list entries."""

    def __init__(self, entries: Iterable[Listed]) -> None:
        self._terms = ahocorasick.Automaton()
        self._exceptions = ahocorasick.Automaton()
        rules: dict[tuple[bool, str], list[_Rule]] = defaultdict(list)
        # One-word Latin terms by length and first and last letter, for masked words (which keep both).
        self._words: dict[tuple[int, str, str], list[tuple[str, tuple[_Rule, ...]]]] = defaultdict(list)
        self.categories: set[Category] = set()
        for entry in entries:
            category = Category(entry.category)
            is_exception = entry.role == Role.EXCEPTION
            for key, left, right in _keys(entry):
                rules[(is_exception, key)].append(_Rule(category, entry.text.strip().lstrip("="), entry.role, left, right))
            if not is_exception:
                self.categories.add(category)
        for (is_exception, key), found in rules.items():
            (self._exceptions if is_exception else self._terms).add_word(key, (len(key), tuple(found)))
            if not is_exception and _WORD.fullmatch(key):
                self._words[(len(key), key[0], key[-1])].append((key, tuple(found)))
        for automaton in (self._terms, self._exceptions):
            if len(automaton):
                automaton.make_automaton()

    def find(self, text: str) -> Found | None:
        folded = normalize.fold(text)
        if not folded or not len(self._terms):
            return None
        blanks = self._exception_spans(folded)
        hits: list[_Hit] = []
        self._collect(folded, self.categories - blanks.keys(), hits)
        for category, spans in blanks.items():
            self._collect(_blank(folded, spans), {category}, hits)
        if "*" in folded:
            self._masked(folded, hits)
        return _verdict(hits)

    def _exception_spans(self, text: str) -> dict[Category, list[tuple[int, int]]]:
        spans: dict[Category, list[tuple[int, int]]] = defaultdict(list)
        if not len(self._exceptions):
            return spans
        for last, (length, rules) in self._exceptions.iter(text):
            start = last + 1 - length
            for rule in rules:
                end = _end(text, start, last + 1, rule.left, rule.right)
                if end is not None:
                    spans[rule.category].append((start, end))
        return spans

    def _collect(self, text: str, categories: set[Category], hits: list[_Hit]) -> None:
        for number, variant in enumerate(normalize.variants(text)):
            for last, (length, rules) in self._terms.iter(variant):
                start = last + 1 - length
                for rule in rules:
                    if rule.category in categories and (end := _end(variant, start, last + 1, rule.left, rule.right)) is not None:
                        hits.append(_Hit(rule, number, start, end))

    def _masked(self, text: str, hits: list[_Hit]) -> None:
        """A masked word is the listed word of its length that its letters spell ("p*rn" → porn)."""
        for masked in _MASKED.finditer(text):
            word = masked.group()
            for key, rules in self._words.get((len(word), word[0], word[-1]), ()):
                if all(letter in ("*", wanted) for letter, wanted in zip(word, key, strict=True)):
                    hits += [_Hit(rule, -1, masked.start(), masked.end()) for rule in rules if rule.role == Role.TERM]


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with each span replaced by one NUL: a boundary that joins nothing."""
    keep = [True] * len(text)
    for start, end in spans:
        keep[start:end] = [False] * (end - start)
    return "".join(char if keep[index] else ("\0" if index == 0 or keep[index - 1] else "") for index, char in enumerate(text))


def _verdict(hits: list[_Hit]) -> Found | None:
    """The most severe category's first term; a context word with a sexual term is "minors"."""
    terms = sorted((hit for hit in hits if hit.rule.role == Role.TERM), key=lambda hit: SEVERITY[hit.rule.category])
    taken = _Overlaps([hit for hit in terms if hit.rule.category != Category.PROFANITY])
    kept = (hit.rule for hit in terms if not taken.covers(hit))
    first = next(kept, None)  # checked one at a time, most severe first: most prompts stop at their first hit
    context = next((hit.rule for hit in hits if hit.rule.role == Role.CONTEXT), None)
    if context is not None and first is not None and first.category != Category.MINORS:
        sexual = first if first.category == Category.SEXUAL else next((rule for rule in kept if rule.category == Category.SEXUAL), None)
        if sexual is not None:
            return Found(Category.MINORS, f"{context.shown} + {sexual.shown}")
    return Found(first.category, first.shown) if first else None


class _Overlaps:
    """The hits that may take a term from another category, by reading and start, so that a hit
    looks only at those that start at most one hit's length before it."""

    def __init__(self, hits: list[_Hit]) -> None:
        self._starts: dict[int, list[int]] = defaultdict(list)
        self._hits: dict[int, list[_Hit]] = defaultdict(list)
        for hit in sorted(hits, key=lambda hit: hit.start):
            self._starts[hit.variant].append(hit.start)
            self._hits[hit.variant].append(hit)
        self._reach = max((hit.end - hit.start for hit in hits), default=0)

    def covers(self, hit: _Hit) -> bool:
        starts, candidates = self._starts[hit.variant], self._hits[hit.variant]
        low, high = bisect.bisect_left(starts, hit.start - self._reach), bisect.bisect_right(starts, hit.start)
        return any(hit.inside(other) for other in candidates[low:high])


# --- the shipped lists -------------------------------------------------------------------------


def category_files() -> dict[Category, Path]:
    return {category: DATA / f"{category.value}.json" for category in Category}


@memoized(key="nothing", fresh="none: the data files shipped with the code")
def shipped() -> tuple[Listed, ...]:
    """Every shipped entry: each category's data file, and glin-profanity's lists as profanity."""
    entries: list[Listed] = []
    for category, path in category_files().items():
        data = json.loads(path.read_text("utf-8"))
        for role, key in ((Role.TERM, "terms"), (Role.EXCEPTION, "exceptions"), (Role.CONTEXT, "context")):
            for language in LANGUAGES:
                entries += [Listed(category.value, text, role) for text in data.get(key, {}).get(language, [])]
    owned = {normalize.fold(entry.text.strip("*=")) for entry in entries if entry.role == Role.TERM}
    entries += [Listed(Category.PROFANITY.value, term, inflect=False) for term in glin_terms() if term not in owned]
    return tuple(entries)


@memoized(key="nothing", fresh="none: glin-profanity's installed lists")
def glin_terms() -> tuple[str, ...]:
    """glin-profanity's English, Korean and Japanese terms, folded, less the ones profanity.json drops."""
    dropped = json.loads((DATA / "profanity.json").read_text("utf-8"))["dropped"]
    skip = {normalize.fold(word) for language in LANGUAGES for word in dropped[language]}  # from every list ("xx")
    folder = resources.files("glin_profanity") / "data" / "dictionaries"
    terms: set[str] = set()
    for name in GLIN_LANGUAGES.values():
        words = json.loads((folder / f"{name}.json").read_text("utf-8"))["words"]
        terms.update(term for word in words if (term := normalize.fold(word)) and term not in skip)
    return tuple(sorted(terms))


@memoized(key="the curator entries (a frozenset)", fresh="none: a pure function of its key and the shipped lists", maxsize=8)
def matcher(curated: frozenset[Listed] = frozenset()) -> Matcher:
    """The matcher for the shipped lists plus these curator entries (compiled once per set)."""
    return Matcher(shipped() + tuple(sorted(curated, key=lambda entry: (entry.category, entry.role, entry.text))))
