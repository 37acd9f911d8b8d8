"""Prompt screening on every way a prompt reaches a generator: a refused prompt is a 400 whose
field error names the category and the term, in the request's language, and nothing is queued."""

from __future__ import annotations

import base64

import pytest
from rest_framework.test import APIClient

from a1111.models import PromptStyle
from generation.models import GenerationJob
from safety.models import Term
from safety.terms import matcher

REFUSED = [
    ("english", "a fucking garden of roses"),
    ("korean", "이 씨발놈아 꽃을 그려줘"),  # the particle is written onto the word
    ("japanese", "おっぱいを描いて"),
    ("english", "a decapitated gardener, gore"),  # a category the old profanity lists did not have
]


def expected(text: str) -> str:
    return matcher().find(text).term


@pytest.fixture
def basic_client(django_user_model):
    django_user_model.objects.create_user("a1111", password="pw-a1111-secret", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"a1111:pw-a1111-secret").decode())
    return client


def refused(response, field: str, term: str, category: str | None = None) -> bool:
    """A 400 with the old clients' shape ({field: [message]}) naming the term (and category), nothing queued."""
    body = response.json()
    message = body.get(field, [""])[0] if isinstance(body.get(field), list) else ""
    named = term in message and (category is None or category in message)
    return response.status_code == 400 and named and not GenerationJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "text"), REFUSED)
def test_the_job_api_refuses_naming_field_category_and_term(token_client, no_enqueue, language, text):
    response = token_client.post("/api/v1/jobs", {"prompt": text, "emotion": "calm"}, format="json")
    found = matcher().find(text)
    assert refused(response, "prompt", found.term, str(found.category.label)), response.content


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["emotion_text", "others", "favorite"])
def test_every_text_a_prompt_is_composed_from_is_screened(token_client, no_enqueue, field):
    response = token_client.post("/api/v1/jobs", {"emotion": "calm", field: "porn"}, format="json")
    assert refused(response, field, "porn", "nudity and sexual content"), response.content


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
    assert refused(response, "prompt", expected(text)), response.content


@pytest.mark.django_db
def test_a1111_img2img_refuses_a_blocked_prompt(basic_client, retouch_settings, no_enqueue):
    picture = base64.b64encode(_png()).decode()
    body = {"init_images": [picture], "prompt": "nude", "steps": 4, "width": 64, "height": 64, "denoising_strength": 0.6}
    assert refused(basic_client.post("/sdapi/v1/img2img", body, format="json"), "prompt", "nude", "nudity and sexual content")


@pytest.mark.django_db
def test_an_a1111_style_cannot_smuggle_a_term_in(basic_client, no_enqueue):
    PromptStyle.objects.create(name="spicy", prompt="{prompt}, topless")
    body = {"prompt": "a red flower", "styles": ["spicy"], "steps": 2, "width": 64, "height": 64}
    assert refused(basic_client.post("/sdapi/v1/txt2img", body, format="json"), "prompt", "topless")


@pytest.mark.django_db
def test_curator_terms_apply_at_once_in_their_category(token_client, no_enqueue):
    Term.objects.create(text="Pitchfork fight", kind=Term.Kind.BLOCKED, category="violence", note="too dark for children")
    response = token_client.post("/api/v1/jobs", {"prompt": "a pitchfork fight in the barn"}, format="json")
    assert refused(response, "prompt", "pitchfork fight", "gore and violence"), response.content
    passed = token_client.post("/api/v1/jobs", {"prompt": "bare trees under a blood-orange sky"}, format="json")
    assert passed.status_code == 202, passed.content  # "blood orange" ships as a violence exception


@pytest.mark.django_db
def test_the_negative_prompt_may_hold_any_category(token_client, no_enqueue):
    body = {"emotion": "calm", "negative_prompt": "gore, blood, nazi, suicide, nude, child"}
    assert token_client.post("/api/v1/jobs", body, format="json").status_code == 202


@pytest.mark.django_db
def test_screening_can_be_switched_off(token_client, no_enqueue, settings):
    settings.GARDEN_SAFETY_PROMPT_CHECK = False
    assert token_client.post("/api/v1/jobs", {"prompt": "porn, gore"}, format="json").status_code == 202


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (40, 120, 60)).save(buffer, "PNG")
    return buffer.getvalue()
