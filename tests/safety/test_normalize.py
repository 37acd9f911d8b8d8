"""Prompt screening's normalisation, one step at a time (safety.normalize), and each step undoing a
disguise end to end through the shipped matcher."""

from __future__ import annotations

import pytest

from safety import normalize
from safety.categories import Category
from safety.terms import matcher

# Depends on no database, cache or broker of the run: CI runs it once, in the pass on the embedded defaults.
pytestmark = pytest.mark.backend_free


def readings(text: str) -> list[str]:
    return list(normalize.variants(normalize.fold(text)))


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("ＮＵＤＥ", "nude"),  # full-width (NFKC) and case
        ("𝐧𝐮𝐝𝐞", "nude"),  # mathematical bold (NFKC)
        ("ⓝⓤⓓⓔ", "nude"),  # circled (NFKC)
        ("🅽🆄🅳🅴", "nude"),  # negative squared letters (no NFKC mapping: the fold table)
        ("nu\u200bd\u200ce", "nude"),  # zero-width space and non-joiner (format characters)
        ("nu\u00add\u2060e\ufeff", "nude"),  # soft hyphen, word joiner, BOM
        ("nu\ufe0fde", "nude"),  # a variation selector
        ("nüdé", "nude"),  # accents on Latin letters
        ("nu\u0301de", "nude"),  # a combining accent
        ("n\u043ede", "node"),  # Cyrillic о
        ("\u0455\u0435\u0445", "sex"),  # Cyrillic ѕ е х
        ("\u03bd\u03bfde", "vode"),  # Greek ν ο
        ("ɴᴜᴅᴇ", "nude"),  # small capitals
        ("self-harm", "self harm"),  # dashes and underscores are spaces
        ("blood\u2014soaked   sky", "blood soaked sky"),
        ("ｴﾛ", "エロ"),  # half-width katakana with its voiced mark composed (NFKC)
        ("ㅅㅅ", "\u1109\u1109"),  # compatibility jamo → leading jamo (NFKC), as the lists are folded
    ],
)
def test_fold(written, folded):
    assert normalize.fold(written) == folded


@pytest.mark.parametrize(
    ("written", "reading"),
    [
        ("s e x", "sex"),
        ("n.u.d.e", "nude"),
        ("g-o-r-e", "gore"),
        ("p*o*r*n", "porn"),
        ("nu.de", "nude"),  # a dot inside a word
        ("섹 스", "섹스"),  # single Hangul syllables separated by spaces
        ("섹.스", "섹스"),
        ("시1발", "시발"),  # a digit between syllables
        ("ㄴr체", "나체"),  # a consonant with a Latin letter for its vowel
        ("エ・ロ", "エロ"),
        ("裸 体", "裸体"),
        ("エ口", "エロ"),  # the kanji 口 beside katakana reads as ロ
        ("ヌ一ド", "ヌード"),  # the kanji 一 as the long-vowel mark
    ],
)
def test_joined_reading(written, reading):
    assert reading in readings(written)


@pytest.mark.parametrize(
    ("written", "reading"),
    [("p0rn", "porn"), ("s3x", "sex"), ("$ex", "sex"), ("h3nt41", "hentai"), ("s1ut", "slut"), ("nuuuude", "nude"), ("s 3 x", "sex")],
)
def test_unleet_reading(written, reading):
    assert reading in readings(written)


@pytest.mark.parametrize(
    "text",
    [
        "a i art of a rose garden",  # two single letters are not joined
        "two roses and 3 tulips, 16:9",  # numbers alone are not read as letters
        "dragon fruit and a sunflower",
    ],
)
def test_ordinary_text_has_no_second_reading(text):
    assert readings(text) == [normalize.fold(text)]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("ＮＵＤＥ model", Category.SEXUAL),
        ("n\u200bu\u200bd\u200be model", Category.SEXUAL),
        ("n\u0430k\u0435d model", Category.SEXUAL),  # Cyrillic а, е
        ("s e x in the garden", Category.SEXUAL),
        ("g.o.r.e in the rose bed", Category.VIOLENCE),
        ("p0rn", Category.SEXUAL),
        ("s3lf h4rm", Category.SELF_HARM),
        ("nаzі flag", Category.HATE),
        ("섹 스 하는 커플", Category.SEXUAL),
        ("자*살", Category.SELF_HARM),
        ("ㄴr체", Category.SEXUAL),
        ("ｴﾛ画像", Category.SEXUAL),
        ("エ口い", Category.SEXUAL),
        ("は・だ・か", Category.SEXUAL),
    ],
)
def test_each_disguise_is_seen_through(text, category):
    found = matcher().find(text)
    assert found is not None and found.category == category, found


@pytest.mark.parametrize(
    ("text", "term"), [("n*de woman", "nude"), ("p*rn", "porn"), ("f**k this", "fuck"), ("sw*stika", "swastika"), ("c*rpse", "corpse")]
)
def test_a_masked_word_is_the_listed_word_it_spells(text, term):
    assert matcher().find(text).term == term


@pytest.mark.parametrize("text", ["a *lovely* garden", "r*se garden", "tr*e, 2*3 roses"])
def test_a_masked_word_that_spells_no_listed_word_passes(text):
    assert matcher().find(text) is None
