"""Text normalisation for prompt screening: what a prompt is turned into before terms are looked for.

``fold`` is applied to the prompt and to every term and exception alike: NFKC (full-width and
half-width forms, ligatures, circled and mathematical letters), case folding, format characters
removed (zero-width spaces and joiners, soft hyphens, bidi marks, variation selectors), accents
dropped from Latin letters, look-alike letters of other scripts mapped to Latin (Cyrillic "о",
Greek "ν", small capitals "ɴ"), and dashes, underscores and runs of white space made one space.

``variants`` then yields the folded text and, where they differ, two disguise-undoing readings:

- joined: letters spelled out one by one are joined ("s e x", "n.u.d.e", "g-o-r-e": three or more
  single Latin letters; "a i art" stays as it is), dots or asterisks inside a Latin word dropped
  ("nu.de"), punctuation and digits between Hangul or Japanese characters dropped ("섹.스",
  "시1발", "エ・ロ"), a Hangul consonant with a Latin letter for its vowel read as a syllable
  ("ㄴr체" → "나체"), single Hangul or Japanese characters separated by spaces joined ("섹 스",
  "裸 体"), and kanji that look like katakana read as katakana next to katakana ("エ口" → "エロ");
- unleet: in words that mix letters with digits or symbols, digits and symbols read as letters
  ("p0rn", "s3x", "$ex", "h3nt41"), and a letter written three or more times in a row read once
  ("nuuude"); "1" is read as "i" and, in a second reading, as "l".

Matching looks at every variant: a disguise only adds readings, so a plain prompt is read as before.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator

from config.caches import memoized

# Look-alike letters of other scripts → Latin (after case folding). A curated map of the letters
# that pass for Latin in ordinary fonts; Unicode's confusables list is far larger and maps
# characters of the scripts we match (kana, Hangul) too.
CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "з": "3", "і": "i", "ї": "i", "ј": "j", "к": "k", "м": "m",
    "н": "h", "о": "o", "п": "n", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ь": "b", "ү": "y", "г": "r",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "c",
    # Latin small capitals and IPA letters
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ғ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j",
    "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u",
    "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z", "ı": "i", "ɑ": "a", "ɡ": "g", "ɩ": "i", "ʋ": "u", "ȷ": "j",
    "ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ŧ": "t", "ƅ": "b",
    # Armenian
    "ս": "u", "օ": "o", "ո": "n", "հ": "h",
}  # fmt: skip
# Kanji that stand in for katakana beside katakana ("エ口" for "エロ", "ヌ一ド" for "ヌード").
KANJI_AS_KATAKANA = str.maketrans("口一工力夕二卜八才", "ローエカタニトハオ")
LEET = str.maketrans("013456789@$!|+€", "oieasbtbgasilte")

_HANGUL = "\uac00-\ud7a3\u1100-\u11ff"
_KANA = "\u3041-\u309f\u30a1-\u30fa\u30fc-\u30ff"
_KANJI = "\u4e00-\u9fff\u3400-\u4dbf"
_CJK = _HANGUL + _KANA + _KANJI
_SEPARATORS = re.compile(r"[\s\-_~\u2010-\u2015\u2212]+")
_SPELL_SEP = r"[\s.\-_*·•,/|+:;'\"~^]+"
_SPELLED = re.compile(rf"(?<![a-z0-9$@])[a-z0-9$@](?:{_SPELL_SEP}[a-z0-9$@](?![a-z0-9$@])){{2,}}")
_SPELL_SEP_ONLY = re.compile(_SPELL_SEP)
_INSIDE_WORD = re.compile(r"(?<=[a-z])[.*_·•'’](?=[a-z])")
_CJK_SPELLED = re.compile(rf"(?<![{_CJK}])[{_CJK}](?:[\s・.·•,/|*+\-_~]+[{_CJK}](?![{_CJK}]))+")
_CJK_NOT = re.compile(rf"[^{_CJK}]+")
_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])[.·•/|*+\-_~^・@#$%&!?0-9a-z]+(?=[{_CJK}])")
_KATAKANA_NEIGHBOUR = re.compile(r"(?<=[\u30a1-\u30fa\u30fc])[口一工力夕二卜八才]|[口一工力夕二卜八才](?=[\u30a1-\u30fa\u30fc])")
# Korean "외계어": a consonant with a Latin letter for its vowel ("ㄴr" for 나, "ㅇl" for 이); NFKC has
# made the consonant a leading jamo (U+1100…).
_JAMO_WITH_LATIN_VOWEL = re.compile(r"([\u1100-\u1112])([rl1|])")
# A word with a digit or symbol in it (the letter it must also hold is checked on the match).
_MIXED_WORD = re.compile(r"(?<![a-z0-9@$!|+€])[a-z0-9@$!|+€]*[0-9@$!|+€][a-z0-9@$!|+€]*")
_LETTER = re.compile(r"[a-z]")
_REPEATED = re.compile(r"([a-z])\1{2,}")


@memoized(key="nothing", fresh="none: the running Python's Unicode data")
def _fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for code in itertools.chain(range(0x20000), range(0xE0000, 0xE1000)):  # Cf characters live here
        char = chr(code)
        category = unicodedata.category(char)
        if category == "Cf" or 0x0300 <= code <= 0x036F or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or code == 0x034F:
            table[code] = None  # format characters, combining accents, variation selectors
        elif 0x00C0 <= code <= 0x024F and category.startswith("L"):
            base = unicodedata.normalize("NFD", char)[0].casefold()
            if base.isascii() and base.isalpha():
                table[code] = base  # é → e, ñ → n (after casefold, so lower case)
    for first, last in ((0x1F150, 0x1F169), (0x1F170, 0x1F189), (0x1F1E6, 0x1F1FF)):
        for offset in range(last - first + 1):  # negative circled and squared letters, regional indicators
            table[first + offset] = chr(ord("a") + offset)
    table.update({ord(char): latin for char, latin in CONFUSABLES.items()})
    return table


def fold(text: str) -> str:
    """NFKC, case folding, format characters and accents removed, look-alikes mapped, separators made one space."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_fold_table())
    return _SEPARATORS.sub(" ", text).strip()


def joined(text: str) -> str:
    """Spelled-out letters joined, punctuation inside words dropped (see the module's notes)."""
    text = _SPELLED.sub(lambda match: _SPELL_SEP_ONLY.sub("", match.group()), text)
    text = _INSIDE_WORD.sub("", text)
    text = _JAMO_WITH_LATIN_VOWEL.sub(_jamo_syllable, text)
    text = _BETWEEN_CJK.sub("", text)
    text = _CJK_SPELLED.sub(lambda match: _CJK_NOT.sub("", match.group()), text)
    return _KATAKANA_NEIGHBOUR.sub(lambda match: match.group().translate(KANJI_AS_KATAKANA), text)


def _jamo_syllable(match: re.Match[str]) -> str:
    vowel = 0 if match.group(2) == "r" else 20  # ㅏ or ㅣ
    return chr(0xAC00 + ((ord(match.group(1)) - 0x1100) * 21 + vowel) * 28)


def unleet(text: str, one: str = "i") -> str:
    """Digits and symbols inside words that hold letters read as letters; tripled letters read once."""
    table = LEET if one == "i" else {**LEET, ord("1"): one}
    text = _MIXED_WORD.sub(lambda match: match.group().translate(table) if _LETTER.search(match.group()) else match.group(), text)
    return _REPEATED.sub(r"\1", text)


def variants(folded: str) -> Iterator[str]:
    """The folded text, then each disguise-undoing reading that differs from those before it."""
    yield folded
    seen = {folded}
    together = joined(folded)
    readings = [together, unleet(together)]
    if "1" in together:
        readings.append(unleet(together, one="l"))
    for reading in readings:
        if reading not in seen:
            seen.add(reading)
            yield reading
