"""Prompt screening: the shipped lists in three languages, curator terms and exceptions, and every
way a prompt reaches a generator refusing with a 400 that names the field and the term."""

from __future__ import annotations

import base64
import json

import pytest
from rest_framework.test import APIClient

from generation.models import GenerationJob, PromptStyle
from safety.models import Term
from safety.terms import Matcher, shipped_terms

REFUSED = [
    ("english", "a fucking garden of roses"),
    ("korean", "이 씨발놈아 꽃을 그려줘"),  # the particle is written onto the word
    ("japanese", "おっぱいを描いて"),
]


def garden_matcher(**terms) -> Matcher:
    return Matcher(blocked=shipped_terms() | set(terms.get("blocked", ())), allowed=terms.get("allowed", ()))


@pytest.mark.parametrize(("language", "text"), REFUSED)
def test_each_language_finds_its_term(language, text):
    assert garden_matcher().find(text) is not None, language


@pytest.mark.parametrize(
    "text",
    [
        "happy/spring,sunny,day, flowers, fantasy, concept art, trending on artstation, highly detailed",
        "グローバルな庭のファンタジー",  # "グロ" is a katakana word of its own, not the start of グローバル
        "하고자 하는 정원, 유모차",  # 고자 and 유모 are inside everyday words
        "a cocktail party in Essex, Scunthorpe, a sextant",  # Latin terms match whole words only
        "a hoe by the greenhouse",
    ],
)
def test_garden_words_pass(text):
    assert garden_matcher().find(text) is None


def test_text_is_compared_after_width_and_case_folding():
    assert garden_matcher().find("ＦＵＣＫ the garden") == "fuck"


def test_an_allowed_exception_is_blanked_before_the_blocked_terms_are_looked_for():
    matcher = garden_matcher(blocked={"blood", "bare"}, allowed={"blood-orange sky", "bare trees"})
    assert matcher.find("blood on the moon") == "blood"
    assert matcher.find("bare trees under a blood-orange sky") is None
    assert matcher.find("bare trees and blood") == "blood"


def test_the_shipped_lists_cover_three_languages():
    terms = shipped_terms()
    assert sum(term.isascii() for term in terms) > 300
    assert sum(any("\uac00" <= c <= "\ud7a3" for c in term) for term in terms) > 50  # Hangul
    assert sum(any("\u3040" <= c <= "\u30ff" for c in term) for term in terms) > 100  # kana


@pytest.fixture
def basic_client(django_user_model):
    django_user_model.objects.create_user("a1111", password="pw-a1111-secret", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"a1111:pw-a1111-secret").decode())
    return client


def refused(response, field: str, term: str) -> bool:
    body = json.dumps(response.json(), ensure_ascii=False)
    return response.status_code == 400 and field in response.json() and term in body and not GenerationJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "text"), REFUSED)
def test_the_job_api_refuses_a_blocked_prompt_naming_field_and_term(token_client, no_enqueue, language, text):
    response = token_client.post("/api/v1/jobs", {"prompt": text, "emotion": "calm"}, format="json")
    assert refused(response, "prompt", garden_matcher().find(text)), response.content


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["emotion_text", "others", "favorite"])
def test_every_text_a_prompt_is_composed_from_is_screened(token_client, no_enqueue, field):
    response = token_client.post("/api/v1/jobs", {"emotion": "calm", field: "porn"}, format="json")
    assert refused(response, field, "porn"), response.content


@pytest.mark.django_db
def test_the_negative_prompt_is_not_screened(token_client, no_enqueue):
    response = token_client.post("/api/v1/jobs", {"emotion": "calm", "negative_prompt": "nsfw, nude, porn"}, format="json")
    assert response.status_code == 202, response.content


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "text"), REFUSED)
def test_text2image_refuses_a_blocked_prompt(token_client, no_enqueue, language, text):
    response = token_client.post("/text2image", {"text": text, "width": 768, "height": 512}, format="json")
    assert response.status_code == 400 and not GenerationJob.objects.exists(), response.content


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "text"), REFUSED)
def test_a1111_txt2img_refuses_a_blocked_prompt(basic_client, no_enqueue, language, text):
    response = basic_client.post("/sdapi/v1/txt2img", {"prompt": text, "steps": 2, "width": 64, "height": 64}, format="json")
    assert refused(response, "prompt", garden_matcher().find(text)), response.content


@pytest.mark.django_db
def test_a1111_img2img_refuses_a_blocked_prompt(basic_client, retouch_settings, no_enqueue):
    picture = base64.b64encode(_png()).decode()
    body = {"init_images": [picture], "prompt": "nude", "steps": 4, "width": 64, "height": 64, "denoising_strength": 0.6}
    assert refused(basic_client.post("/sdapi/v1/img2img", body, format="json"), "prompt", "nude")


@pytest.mark.django_db
def test_an_a1111_style_cannot_smuggle_a_term_in(basic_client, no_enqueue):
    PromptStyle.objects.create(name="spicy", prompt="{prompt}, topless")
    body = {"prompt": "a red flower", "styles": ["spicy"], "steps": 2, "width": 64, "height": 64}
    assert refused(basic_client.post("/sdapi/v1/txt2img", body, format="json"), "prompt", "topless")


@pytest.mark.django_db
def test_curator_terms_apply_at_once_and_the_garden_exceptions_ship(token_client, no_enqueue):
    Term.objects.create(text="Blood", kind=Term.Kind.BLOCKED, note="too dark for children")
    assert refused(token_client.post("/api/v1/jobs", {"prompt": "blood on the moon"}, format="json"), "prompt", "blood")
    passed = token_client.post("/api/v1/jobs", {"prompt": "bare trees under a blood-orange sky"}, format="json")
    assert passed.status_code == 202, passed.content  # "blood-orange sky" ships as an allowed exception


@pytest.mark.django_db
def test_screening_can_be_switched_off(token_client, no_enqueue, settings):
    settings.GARDEN_SAFETY_PROMPT_CHECK = False
    assert token_client.post("/api/v1/jobs", {"prompt": "porn"}, format="json").status_code == 202


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (40, 120, 60)).save(buffer, "PNG")
    return buffer.getvalue()
