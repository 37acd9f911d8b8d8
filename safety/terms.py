"""The blocked-term lists and the matcher that finds a blocked term in a prompt.

The shipped terms come from glin-profanity's dictionaries (English, Korean, Japanese; the Korean
and Japanese lists are LDNOOBW's, CC-BY 4.0: THIRD_PARTY_NOTICES.md). Curators add blocked terms
and allowed exceptions in the admin (safety.models.Term). Latin-script terms match whole words;
Hangul and kanji terms match anywhere (Korean and Japanese write particles onto the word:
"씨발놈아", "おっぱいを"); katakana terms match whole katakana runs, so "グロ" is not found in
"グローバル". Text is compared after NFKC and case folding (full-width letters match).
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable
from importlib import resources

LANGUAGES = ("english", "korean", "japanese")

# Entries of the shipped lists that are ordinary words in a garden prompt, or substrings of them
# (docs/safety.md lists why). They are dropped before matching; a curator may block them again.
NOT_BLOCKED = frozenset(
    {
        # English: garden tools and birds, chat abbreviations, a word for loving trees.
        "hoe",
        "suck",
        "sucks",
        "bs",
        "mf",
        "xx",
        "wtf",
        "stfu",
        "lmfao",
        "omfg",
        "simp",
        "testbad01",
        "dendrophilia",
        "domination",
        "escort",
        # Korean: substrings of everyday words (하고자 "intend to", 호로록, 유모차 "pram", 노모 "old mother", 망가진 "broken").
        "고자",
        "호로",
        "애자",
        "야사",
        "노모",
        "유모",
        "망가",
        # Japanese: ordinary words (mischief, webcam, hook, Kant, fantasy, rubber, plump, race, Jewish people, …).
        "いたずら",
        "ウェブカメラ",
        "エスコート",
        "フック",
        "カント",
        "ファンタジー",
        "ラバー",
        "ぽっちゃり",
        "人種",
        "ユダヤ人",
        "ラティーナ",
        "レズビアン",
        "ゲイの男性",
        "支配",
        "誘惑",
        "毛深い",
        "噴出",
        "なめ",
        "しばり",
        "スリット",
        "デブ",
        "sm",
        "3p",
        "卍",
        "自己愛性",
        "両性",
        "直腸",
        "女子高生",
        "幼児",
        "殺人事件",
    }
)
_LATIN = re.compile(r"[0-9a-z]")
_KATAKANA = "\u30a0-\u30ff\uff66-\uff9f"


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@functools.cache
def shipped_terms() -> frozenset[str]:
    """glin-profanity's terms for LANGUAGES, normalised, less NOT_BLOCKED."""
    folder = resources.files("glin_profanity") / "data" / "dictionaries"
    terms: set[str] = set()
    for language in LANGUAGES:
        terms.update(normalize(word).strip() for word in json.loads((folder / f"{language}.json").read_text("utf-8"))["words"])
    return frozenset(term for term in terms if term and term not in NOT_BLOCKED)


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
    ordered = sorted({term for term in terms if term}, key=len, reverse=True)  # longest first: "씨발놈" before "씨발"
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
