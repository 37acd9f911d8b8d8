"""Idempotency keys on the job API's creates and the A1111 generation calls (config.idempotency):
a retried submission is one job; a retouch create (multipart) matches on its fields and pictures."""

from __future__ import annotations

import pytest

from config.idempotency import HEADER_NAME, REPLAYED
from generation.models import GenerationJob
from infra.models import IdempotencyKey
from tests.a1111.test_a1111_catalog import basic_client, txt2img_body  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

JOB = {"prompt": "glass flowers", "width": 768, "height": 512}


def test_a_retried_job_submission_is_one_job(token_client, no_enqueue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = token_client.post("/api/v1/jobs", JOB, format="json", headers={HEADER_NAME: "job-1"})
        again = token_client.post("/api/v1/jobs", JOB, format="json", headers={HEADER_NAME: "job-1"})
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json() and again[REPLAYED] == "true"
    assert again["Location"] == first["Location"]
    assert GenerationJob.objects.count() == 1 and len(no_enqueue) == 1
    assert IdempotencyKey.objects.get().scope == f"user:{token_client.user.pk}"


def test_the_same_key_for_another_job_is_a_422_and_no_key_is_as_before(token_client, no_enqueue):
    assert token_client.post("/api/v1/jobs", JOB, format="json", headers={HEADER_NAME: "job-2"}).status_code == 202
    other = token_client.post("/api/v1/jobs", {**JOB, "width": 512}, format="json", headers={HEADER_NAME: "job-2"})
    assert other.status_code == 422
    assert [token_client.post("/api/v1/jobs", JOB, format="json").status_code for _ in range(2)] == [202, 202]
    assert GenerationJob.objects.count() == 3


def test_an_invalid_submission_keeps_no_key(token_client, no_enqueue):
    assert token_client.post("/api/v1/jobs", {**JOB, "width": 7}, format="json", headers={HEADER_NAME: "job-3"}).status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert token_client.post("/api/v1/jobs", JOB, format="json", headers={HEADER_NAME: "job-3"}).status_code == 202


def test_a1111_txt2img_retried_while_its_job_runs_gets_the_same_job(basic_client, diffusers_settings, no_enqueue, settings):  # noqa: F811
    settings.GARDEN_A1111_WAIT_SECONDS = 0.1  # no worker: the first call answers 504 with its job
    headers = {HEADER_NAME: "t2i-1"}
    first = basic_client.post("/sdapi/v1/txt2img", txt2img_body(), format="json", headers=headers)
    again = basic_client.post("/sdapi/v1/txt2img", txt2img_body(), format="json", headers=headers)
    assert first.status_code == again.status_code == 504
    assert first.json()["job_id"] == again.json()["job_id"] and again[REPLAYED] == "true"
    assert GenerationJob.objects.count() == 1


def test_a1111_repeat_while_the_first_still_waits_is_a_409(basic_client, diffusers_settings, no_enqueue):  # noqa: F811
    IdempotencyKey.objects.create(
        scope=f"user:{basic_client.user.pk}", key="t2i-2", fingerprint="x", expires_at="2999-01-01T00:00:00Z"
    )  # claimed by a call still waiting for its job
    response = basic_client.post("/sdapi/v1/txt2img", txt2img_body(), format="json", headers={HEADER_NAME: "t2i-2"})
    assert response.status_code == 409 and response["Retry-After"]
    assert not GenerationJob.objects.exists()


def test_a1111_call_whose_request_fails_releases_its_claim(basic_client, diffusers_settings, no_enqueue):  # noqa: F811
    headers = {HEADER_NAME: "t2i-3"}
    assert basic_client.post("/sdapi/v1/txt2img", txt2img_body(tiling=True), format="json", headers=headers).status_code == 400
    assert not IdempotencyKey.objects.exists()


def test_a_retried_retouch_upload_is_one_job_whatever_the_form_boundary(token_client, retouch_settings, no_enqueue):
    from tests.retouch.retouch_support import encoded, noise, upload

    png = encoded(noise())

    def submit(picture: bytes, key: str):
        body = {"kind": "retouch", "image": upload(picture, "image.bin"), "strength": "0.5"}
        return token_client.post("/api/v1/jobs", body, format="multipart", headers={HEADER_NAME: key})

    first, again = submit(png, "rt-1"), submit(png, "rt-1")  # each with its own multipart boundary
    assert first.status_code == again.status_code == 202, first.content
    assert first.json()["id"] == again.json()["id"] and again[REPLAYED] == "true"
    assert submit(encoded(noise(seed=3)), "rt-1").status_code == 422  # another picture under the same key
    assert GenerationJob.objects.count() == 1
