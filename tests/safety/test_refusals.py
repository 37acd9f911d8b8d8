"""A refusal names the category in the request's language, through the real API; curators extend
each category in the admin (terms and exceptions), and a saved row applies to the next request."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import translation

from generation.models import GenerationJob
from safety import prompts
from safety.categories import Category
from safety.models import Term

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "category", "prompt", "expected"),
    [
        (None, "sexual", "a nude woman among tulips", 'is refused: nudity and sexual content ("nude").'),
        ("ko", "sexual", "장미 정원의 누드 모델", '거부되었습니다: 노출과 성적 내용 ("누드").'),
        ("ja", "sexual", "花畑のヌード写真", "受け付けられません: 裸と性的な内容（「ヌード」）。"),
        (None, "violence", "a decapitated gardener", 'is refused: gore and violence ("decapitat*").'),
        ("ko", "violence", "피투성이 시체와 꽃", "거부되었습니다: 유혈과 폭력"),
        ("ja", "hate", "ナチスの旗が立つ花壇", "受け付けられません: ヘイトシンボルと差別語（「ナチス」）。"),
        ("ko", "self_harm", "자해하는 소년", '거부되었습니다: 자해 ("자해").'),
        ("ja", "minors", "女子高生のヌード", "受け付けられません: 未成年者の性的な内容（「女子高生 + ヌード」）。"),
        ("ko", "profanity", "씨발 정원", '거부되었습니다: 욕설 ("씨발").'),
    ],
)
def test_the_job_api_names_the_category_in_the_request_language(token_client, no_enqueue, language, category, prompt, expected):
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = token_client.post("/api/v1/jobs", {"prompt": prompt, "emotion": "calm"}, format="json", **headers)
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"prompt"} and len(response.json()["prompt"]) == 1  # the shape old clients read
    assert response.json()["prompt"][0].startswith(expected), response.json()
    assert not GenerationJob.objects.exists()


def test_text2image_names_the_category(token_client, no_enqueue):
    response = token_client.post("/text2image", {"text": "a corpse in the greenhouse", "width": 768, "height": 512}, format="json")
    assert response.status_code == 400 and "gore and violence" in response.content.decode(), response.content


def test_the_word_bank_names_the_category():
    from django.core.exceptions import ValidationError

    from gardener.models import WordBank

    with pytest.raises(ValidationError) as refused:
        WordBank(words="sunlit meadow, swastika").full_clean()
    assert "'swastika' is refused: hate symbols and slurs" in " ".join(refused.value.message_dict["words"])


def test_a_curator_term_refuses_in_its_category_and_is_stored_folded():
    term = Term.objects.create(text="Ｐｉｔｃｈｆｏｒｋ-Fight", kind=Term.Kind.BLOCKED, category=Category.VIOLENCE)
    assert term.text == "pitchfork fight"
    found = prompts.screen("two farmers in a pitchfork fight")
    assert found.category == Category.VIOLENCE and found.term == "pitchfork fight"
    assert prompts.screen("pitchforkfight!").category == Category.VIOLENCE  # written together
    term.delete()
    assert prompts.screen("two farmers in a pitchfork fight") is None


def test_a_curator_exception_lets_through_its_category_only():
    assert prompts.screen("a blood sausage stall at the garden fair").category == Category.VIOLENCE
    Term.objects.create(text="blood sausage", kind=Term.Kind.ALLOWED, category=Category.VIOLENCE)
    assert prompts.screen("a blood sausage stall at the garden fair") is None
    assert prompts.screen("blood on the roses").category == Category.VIOLENCE  # the term itself still refuses
    Term.objects.create(text="shit", kind=Term.Kind.ALLOWED, category=Category.VIOLENCE)
    assert prompts.screen("shit").category == Category.PROFANITY  # another category's exception changes nothing


def test_an_exception_that_is_the_term_itself_unblocks_a_shipped_term():
    assert prompts.screen("a gun-shaped cactus").category == Category.VIOLENCE
    Term.objects.create(text="gun", kind=Term.Kind.ALLOWED, category=Category.VIOLENCE, note="our cactus show")
    assert prompts.screen("a gun-shaped cactus") is None


def test_curator_stem_and_exact_forms():
    Term.objects.create(text="thorn*", kind=Term.Kind.BLOCKED, category=Category.VIOLENCE)
    Term.objects.create(text="=rot", kind=Term.Kind.BLOCKED, category=Category.VIOLENCE)
    assert prompts.screen("thornbushes").term == "thorn*"
    assert prompts.screen("rot").term == "rot" and prompts.screen("rots") is None


def test_korean_and_japanese_curator_terms_and_exceptions():
    Term.objects.create(text="가시밭", kind=Term.Kind.BLOCKED, category=Category.VIOLENCE)
    Term.objects.create(text="가시밭길 정원", kind=Term.Kind.ALLOWED, category=Category.VIOLENCE)
    Term.objects.create(text="トゲ", kind=Term.Kind.BLOCKED, category=Category.VIOLENCE)
    assert prompts.screen("가시밭에 누운 사람").category == Category.VIOLENCE
    assert prompts.screen("가시밭길 정원의 장미") is None
    assert prompts.screen("とげのある花").category == Category.VIOLENCE  # katakana term, hiragana prompt
    assert prompts.screen("トゲトゲしい") is None  # a longer katakana run


@pytest.fixture
def superuser_client():
    user = get_user_model().objects.create_superuser("safety-admin", "a@example.org", "pw-admin-1234")
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_adds_a_term_by_category_and_filters_by_it(superuser_client, token_client, no_enqueue):
    with translation.override("en"):
        response = superuser_client.post(
            "/admin/safety/term/add/", {"text": "Pitchfork fight", "category": "violence", "kind": "blocked", "note": "too dark"}
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Term.objects.get(text="pitchfork fight").category == "violence"
    listing = superuser_client.get("/admin/safety/term/?category__exact=violence")
    assert listing.status_code == 200 and "pitchfork fight" in listing.content.decode()
    refused = token_client.post("/api/v1/jobs", {"prompt": "a pitchfork fight"}, format="json")
    assert refused.status_code == 400 and "gore and violence" in refused.json()["prompt"][0]


def test_the_admin_refuses_an_empty_term(superuser_client):
    response = superuser_client.post("/admin/safety/term/add/", {"text": "=*", "category": "violence", "kind": "blocked"})
    assert response.status_code == 200 and not Term.objects.filter(category="violence").exists()


def test_the_curators_rows_of_before_categories_are_profanity():
    """Migration 0004 keeps every existing row as a profanity term or exception (what it screened
    before): the exceptions migration 0002 shipped are such rows."""
    assert set(Term.objects.values_list("text", "category", "kind")) >= {
        ("blue tit", "profanity", "allowed"),
        ("bare trees", "profanity", "allowed"),
    }
