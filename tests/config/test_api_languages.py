"""The APIs' own messages in the request's language (issue 40, docs/languages.md "The APIs"):
Korean or Japanese with ``Accept-Language: ko`` / ``ja``, English with no header as old clients get
today; the status codes and field names are the same in every language."""

from __future__ import annotations

import json

import pytest
from django.utils import translation

from config.api import exception_handler
from config.errors import DatabaseUnavailable
from generation.models import GenerationJob
from tests.retouch.retouch_support import encoded, noise, upload

pytestmark = pytest.mark.django_db

LANGUAGES = [None, "ko", "ja"]


def headers(language: str | None) -> dict:
    return {"HTTP_ACCEPT_LANGUAGE": language} if language else {}


def text(response) -> str:
    return json.dumps(response.json(), ensure_ascii=False)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (None, "Unknown favorite 'autumn,rainy,night': a favorite is season,weather,time as kiosks send it (season: spring,"),
        ("ko", "알 수 없는 취향 'autumn,rainy,night'입니다. 취향은 키오스크가 보내는 대로 계절,날씨,시간 형식입니다(season: spring,"),
        ("ja", "不明なお好み 'autumn,rainy,night' です。お好みはキオスクが送るとおり「季節,天気,時間」の形式です（season: spring,"),
    ],
)
def test_an_unknown_favorite(token_client, no_enqueue, language, expected):
    body = {"emotion": "calm", "kind": "bulk", "favorite": "autumn,rainy,night"}
    response = token_client.post("/api/v1/jobs", body, format="json", **headers(language))
    assert response.status_code == 400 and set(response.json()) == {"favorite"}
    assert expected in text(response)
    assert not GenerationJob.objects.exists()


@pytest.mark.parametrize(("language", "expected"), [(None, "Not found."), ("ko", "찾을 수 없습니다."), ("ja", "見つかりません。")])
def test_the_json_404_of_an_unknown_api_path(client, language, expected):
    response = client.get("/api/v1/no-such-thing", **headers(language))
    assert response.status_code == 404 and response.json() == {"detail": expected}


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (None, "Request body is larger than 100 bytes."),
        ("ko", "요청 본문이 100바이트보다 큽니다."),
        ("ja", "リクエストの本文が 100 バイトを超えています。"),
    ],
)
def test_a_kiosk_body_too_large(client, settings, language, expected):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = json.dumps({"emotion": "calm", "padding": "x" * 200})
    response = client.post("/garden", data=body, content_type="application/json", **headers(language))
    assert response.status_code == 413 and response.json() == {"detail": expected}


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "The database is unavailable; try again shortly."),
        ("ko", "데이터베이스를 사용할 수 없습니다. 잠시 후 다시 시도해 주십시오."),
        ("ja", "データベースを利用できません。しばらくしてからもう一度お試しください。"),
    ],
)
def test_the_database_outage_503(settings, language, expected):
    # The handler builds the message in the language LocaleMiddleware activated for the request.
    with translation.override(language):
        response = exception_handler(DatabaseUnavailable(), {})
    assert response.status_code == 503 and response.data == {"detail": expected}
    assert response["Retry-After"] == str(settings.GARDEN_DATABASE_RETRY_AFTER_SECONDS)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (None, "Models of the library are for the diffusers backend; this job uses procedural."),
        ("ko", "라이브러리의 모델은 diffusers 백엔드에서만 쓸 수 있습니다. 이 작업은 procedural 백엔드를 사용합니다."),
        ("ja", "ライブラリのモデルは diffusers バックエンドでのみ使えます。このジョブは procedural を使います。"),
    ],
)
def test_job_parameters(token_client, no_enqueue, language, expected):
    body = {"emotion": "calm", "backend": "procedural", "model": "some-model"}
    response = token_client.post("/api/v1/jobs", body, format="json", **headers(language))
    assert response.status_code == 400 and response.json() == {"model": [expected]}


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (None, 'is refused: nudity and sexual content ("porn").'),
        ("ko", '거부되었습니다: 노출과 성적 내용 ("porn").'),
        ("ja", "受け付けられません: 裸と性的な内容（「porn」）。"),
    ],
)
def test_a_blocked_prompt_names_the_term_as_written(token_client, no_enqueue, language, expected):
    response = token_client.post("/api/v1/jobs", {"prompt": "a porn garden", "emotion": "calm"}, format="json", **headers(language))
    assert response.status_code == 400 and set(response.json()) == {"prompt"}
    message = response.json()["prompt"][0]
    assert expected in message


PNG = encoded(noise())


@pytest.mark.parametrize(
    ("language", "rect", "controls"),
    [
        (None, "rect [90, 10, 20, 20] must lie inside the", "Expected JSON."),
        ("ko", "rect [90, 10, 20, 20]는", "JSON을 보내 주십시오."),
        ("ja", "rect [90, 10, 20, 20] は", "JSON を送ってください。"),
    ],
)
def test_retouch_options_and_fields(staff_client, retouch_settings, no_enqueue, language, rect, controls):
    def post(**fields):
        body = {"kind": "retouch", "image": upload(PNG, "image.png"), **fields}
        return staff_client.post("/api/v1/jobs", body, format="multipart", **headers(language))

    refused = post(rect="90,10,20,20")
    assert refused.status_code == 400 and set(refused.json()) == {"rect"} and refused.json()["rect"][0].startswith(rect)
    refused = post(controls="not json")
    assert refused.status_code == 400 and refused.json() == {"controls": [controls]}
    assert not GenerationJob.objects.exists()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (None, "LoRA 'ink': the weight 'heavy' is not a number (<lora:name:0.8>)."),
        ("ko", "LoRA 'ink': 가중치 'heavy'는 숫자가 아닙니다(<lora:name:0.8>)."),
        ("ja", "LoRA 'ink'：重み 'heavy' が数値ではありません（<lora:name:0.8>）。"),
    ],
)
def test_a_lora_tag_without_a_number(token_client, no_enqueue, language, expected):
    body = {"prompt": "a garden <lora:ink:heavy>", "emotion": "calm"}
    response = token_client.post("/api/v1/jobs", body, format="json", **headers(language))
    assert response.status_code == 400 and response.json()["prompt"] == [expected]
