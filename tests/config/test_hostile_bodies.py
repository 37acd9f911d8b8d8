"""Bodies that crash Python's JSON decoder are a 400 with a message on every JSON endpoint, never a 500."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

HOSTILE = {
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,  # json: RecursionError
    "deep object": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "huge integer": b'{"emotion": "calm", "id": ' + b"9" * 10_000 + b"}",  # json: ValueError (int digits limit)
    "NaN": b'{"emotion": NaN}',
    "Infinity": b'{"id": Infinity, "emotion": "calm"}',
    "invalid UTF-8": b'{"emotion": "\xff\xfe"}',
    "lone surrogate": b'{"emotion": "\\ud800"}',
    "truncated": b'{"emotion": "ca',
}
KIOSK = ["/garden", "/gardenfromDB", "/like", "/impression", "/dislike"]
STAFF = [
    "/text2image",
    "/api/v1/jobs",
    "/api/v1/retouch/edges",
    "/api/v1/retouch/tags",
    "/updateDisplay",
    "/sdapi/v1/img2img",
    "/controlnet/detect",
    "/tagger/v1/interrogate",
]


@pytest.fixture
def token_headers(db):
    user = get_user_model().objects.create_user("operator")
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=user).key}"}


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("path", KIOSK)
def test_kiosk_endpoints_answer_400_for_hostile_json(client, path, name):
    for content_type in ("application/json", "text/plain"):  # old pages post JSON as text/plain
        response = client.post(path, data=HOSTILE[name], content_type=content_type)
        assert response.status_code == 400, (path, name, response.content[:200])
        assert "Malformed JSON" in response.json()["detail"]


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("path", STAFF)
def test_staff_endpoints_answer_400_for_hostile_json(client, token_headers, path, name):
    response = client.post(path, data=HOSTILE[name], content_type="application/json", **token_headers)
    assert response.status_code == 400, (path, name, response.content[:200])
    assert "Malformed JSON" in response.json()["detail"]


@pytest.mark.parametrize("name", HOSTILE)
def test_the_review_endpoint_answers_400_for_hostile_json(admin_client, name):
    response = admin_client.post("/curation/review/decide", data=HOSTILE[name], content_type="application/json")
    assert response.status_code == 400, (name, response.content[:200])


def test_a_huge_id_list_of_huge_numbers_is_a_400_too(admin_client):
    body = b'{"decision": "keep", "ids": ["' + b"1" * 5000 + b'"]}'
    assert admin_client.post("/curation/review/decide", data=body, content_type="application/json").status_code == 400
