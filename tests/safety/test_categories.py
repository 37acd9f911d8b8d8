"""The shipped categories in three languages: each refuses its own terms, names itself, lets its
exceptions through (Scunthorpe words and garden phrases that borrow a word), and the data files
hold together (safety/data)."""

from __future__ import annotations

import json

import pytest

from safety.categories import Category
from safety.terms import LANGUAGES, Listed, Matcher, Role, category_files, glin_terms, matcher, shipped

# Depends on no database, cache or broker of the run: CI runs it once, in the pass on the embedded defaults.
pytestmark = pytest.mark.backend_free

REFUSED = [
    # (category, language, prompt)
    (Category.SEXUAL, "en", "a nude woman among tulips"),
    (Category.SEXUAL, "ko", "장미 정원의 누드 모델"),
    (Category.SEXUAL, "ja", "花畑のヌード写真"),
    (Category.MINORS, "en", "lolicon art in a garden"),
    (Category.MINORS, "ko", "로리 그림"),
    (Category.MINORS, "ja", "ロリコン向けのイラスト"),
    (Category.VIOLENCE, "en", "a decapitated man in the rose bed"),
    (Category.VIOLENCE, "ko", "피투성이 시체와 꽃"),
    (Category.VIOLENCE, "ja", "血まみれの死体と花"),
    (Category.HATE, "en", "a swastika made of tulips"),
    (Category.HATE, "ko", "하켄크로이츠 모양의 화단"),
    (Category.HATE, "ja", "鉤十字の花壇"),
    (Category.SELF_HARM, "en", "a girl cutting her wrists"),
    (Category.SELF_HARM, "ko", "자해하는 소년"),
    (Category.SELF_HARM, "ja", "リストカットの跡"),
    (Category.PROFANITY, "en", "a fucking garden"),
    (Category.PROFANITY, "ko", "씨발 정원"),
    (Category.PROFANITY, "ja", "ファックな庭"),
]


@pytest.mark.parametrize(("category", "language", "text"), REFUSED)
def test_each_category_refuses_its_terms_in_each_language(category, language, text):
    found = matcher().find(text)
    assert found is not None and found.category == category, (language, found)


@pytest.mark.parametrize(
    ("text", "category", "term"),
    [
        ("corpses under the oak", Category.VIOLENCE, "corpse"),  # a plural
        ("two men stabbed", Category.VIOLENCE, "stab"),  # a doubled consonant and -ed
        ("killings in the park", Category.VIOLENCE, "kill"),  # -ings
        ("a decapitated statue", Category.VIOLENCE, "decapitat*"),  # a stem
        ("sexy", Category.SEXUAL, "sexy"),
    ],
)
def test_latin_terms_match_their_forms_and_the_refusal_names_the_listed_term(text, category, term):
    assert matcher().find(text).__dict__ == {"category": category, "term": term}


@pytest.mark.parametrize(
    "text",
    [
        # English: a term inside a longer word matches nothing (whole words only)
        "a sextant in Essex, Scunthorpe, a cocktail, analysis of a grape, a therapist",
        "a titmouse and a shitake mushroom",
        # Korean: a term inside an everyday word, let through by that category's exceptions
        "정원의 전성기",  # 성기 in 전성기 (heyday)
        "지나치게 밝은 조명",  # 나치 in 지나치게 (excessively)
        "자살골을 넣은 선수",  # 자살 in 자살골 (own goal)
        "나무토막 벤치",  # 토막 in 나무토막 (a block of wood)
        "전라남도의 정원",  # 전라 in 전라남도 (a province)
        "하고자 하는 정원, 유모차, 호로록",  # glin-profanity entries dropped in data/profanity.json
        # Japanese: kanji inside everyday words, katakana inside longer katakana words
        "裸木の並木道と裸足の子ども",  # 裸 in 裸木 (bare tree), 裸足 (barefoot)
        "ナチュラルガーデン、グローブ、テロップ、ゴアテックス、エッチング、カロリー",  # ナチ, グロ, テロ, ゴア, エッチ, ロリ
        "支那そばの屋台",  # 支那 in 支那そば (a noodle dish)
        "ちょんまげの侍",  # チョン written in hiragana inside ちょんまげ
    ],
)
def test_scunthorpe_words_pass(text):
    assert matcher().find(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "a bleeding heart beside a blood orange tree under a blood moon",
        "the corpse flower blooms; shooting stars; a murder of crows",
        "pussy willow, cockscomb, a blue tit and a great tit, naked branches",
        "a killing frost, weed killer by the shed, seed bombs, a gunmetal sky",
        "헐벗은 나무와 장노출 사진, 살인적인 더위에도 핀 수국",
        "나비의 완전변태, 노출 콘크리트 벽",
        "長時間露出の星空、根が露出した大木、蝶の完全変態",
    ],
)
def test_garden_phrases_that_borrow_a_word_pass(text):
    assert matcher().find(text) is None


def test_the_same_word_outside_its_exception_is_refused():
    assert matcher().find("blood on the roses").category == Category.VIOLENCE
    assert matcher().find("헐벗은 여자").category == Category.SEXUAL
    assert matcher().find("露出の多い服").category == Category.SEXUAL


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("a nude schoolgirl in the garden", "schoolgirl + nude"),
        ("여고생 누드 사진", "여고생 + 누드"),
        ("女子高生のヌード", "女子高生 + ヌード"),
        ("a sexy 12 year old", None),  # a number is no context word: the sexual term alone refuses
    ],
)
def test_a_context_word_beside_a_sexual_term_is_minors(text, term):
    found = matcher().find(text)
    if term is None:
        assert found.category == Category.SEXUAL
    else:
        assert found.category == Category.MINORS and found.term == term


@pytest.mark.parametrize("text", ["children playing among sunflowers", "소녀가 꽃다발을 들고 웃는다", "子供たちがひまわり畑で遊ぶ"])
def test_a_context_word_alone_passes(text):
    assert matcher().find(text) is None


def test_a_longer_phrase_of_another_category_wins():
    assert matcher().find("she wants to kill herself").category == Category.SELF_HARM  # not violence's "kill"


def test_the_most_severe_category_is_named():
    assert matcher().find("a fucking bloody nude").category == Category.SEXUAL


def test_every_category_has_terms_in_every_language():
    for category, path in category_files().items():
        data = json.loads(path.read_text("utf-8"))
        if category == Category.PROFANITY:
            continue  # glin-profanity's lists: checked below
        for language in LANGUAGES:
            assert len(data["terms"][language]) >= 5, (category, language)
    assert sum(term.isascii() for term in glin_terms()) > 300


def test_every_shipped_exception_lets_a_term_of_its_category_through():
    """An exception that holds no term of its category is dead weight, or a typo."""
    entries = shipped()
    terms_of = {
        category: Matcher(Listed(e.category, e.text) for e in entries if e.category == category.value and e.role != Role.EXCEPTION)
        for category in Category
    }  # a minors context word counts as a term here: its exceptions ("아이돌") are for those
    dead = [
        (e.category, e.text)
        for e in entries
        if e.role == Role.EXCEPTION and terms_of[Category(e.category)].find(e.text.strip("*=")) is None
    ]
    assert not dead


def test_a_dropped_entry_leaves_every_language_list():
    assert "xx" not in glin_terms()  # dropped under English, and in glin-profanity's Japanese list too


def test_a_term_listed_by_a_category_leaves_profanity():
    assert "裸" in glin_terms() and matcher().find("裸の女性").category == Category.SEXUAL
