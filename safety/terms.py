"""The blocked-term lists and the matcher that finds a blocked term in a prompt.

The shipped terms come from glin-profanity's dictionaries (English, Korean, Japanese; the Korean
and Japanese lists are LDNOOBW's, CC-BY 4.0: THIRD_PARTY_NOTICES.md). Curators add blocked terms
and allowed exceptions in the admin (safety.models.Term). Latin-script terms match whole words;
Hangul and kanji terms match anywhere (Korean and Japanese write particles onto the word);
katakana terms match whole katakana runs, so "グロ" is not found in "グローバル". Text is
compared after NFKC and case folding (full-width letters match).
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

LANGUAGES = ("english", "korean", "japanese")

# Shipped entries that are ordinary garden words or sit inside everyday words, with why
# (a JSON file: Python sources are scanned for the kiosk font's Hangul, garden.hangul_font).
NOT_BLOCKED_FILE = Path(__file__).resolve().parent / "not_blocked.json"


@functools.cache
def not_blocked() -> frozenset[str]:
    reasons = json.loads(NOT_BLOCKED_FILE.read_text("utf-8"))
    return frozenset(normalize(term) for language in LANGUAGES for term in reasons[language])


_LATIN = re.compile(r"[0-9a-z]")
_KATAKANA = "\u30a0-\u30ff\uff66-\uff9f"


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@functools.cache
def shipped_terms() -> frozenset[str]:
    """glin-profanity's terms for LANGUAGES, normalised, less the not-blocked ones."""
    folder = resources.files("glin_profanity") / "data" / "dictionaries"
    terms: set[str] = set()
    for language in LANGUAGES:
        terms.update(normalize(word).strip() for word in json.loads((folder / f"{language}.json").read_text("utf-8"))["words"])
    return frozenset(term for term in terms if term and term not in not_blocked())


def _pattern(term: str) -> str:
    """One term as a regular expression: whole words for Latin letters and katakana, anywhere otherwise."""
    body = r"[\s\-_]*".join(re.escape(part) for part in term.split())
    before = after = ""
    if _LATIN.match(term[0]):
        before = r"(?<![0-9a-z])"
    elif re.match(f"[{_KATAKANA}]", term[0]):
        before = f"(?<![{_KATAKANA}])"
    if _LATIN.match(term[-1]):
        after = r"(?![0-9a-z])"
    elif re.match(f"[{_KATAKANA}]", term[-1]):
        after = f"(?![{_KATAKANA}])"
    return before + body + after


def _alternation(terms: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted({term for term in terms if term}, key=len, reverse=True)  # longest first: the longer term is named
    return re.compile("|".join(_pattern(term) for term in ordered)) if ordered else None


class Matcher:
    """Finds the first blocked term of a text, after blanking out the allowed exceptions."""

    def __init__(self, *, blocked: Iterable[str], allowed: Iterable[str]) -> None:
        self._blocked = _alternation(blocked)
        self._allowed = _alternation(allowed)

    def find(self, text: str) -> str | None:
        if self._blocked is None:
            return None
        folded = normalize(text)
        if self._allowed is not None:
            folded = self._allowed.sub(lambda match: " " * len(match.group()), folded)
        found = self._blocked.search(folded)
        return found.group() if found else None


@functools.lru_cache(maxsize=8)
def matcher(blocked: frozenset[str], allowed: frozenset[str]) -> Matcher:
    """The matcher for the shipped terms plus these curator terms (compiled once per set)."""
    return Matcher(blocked=shipped_terms() | blocked, allowed=allowed)
