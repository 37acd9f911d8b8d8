"""Retouch uploads on S3 (moto's real HTTP server): private objects, never public like the images."""

import json
import os
import subprocess
import sys

import boto3
import pytest

from generation.models import GenerationJob
from tests.garden.test_s3_storage import s3_endpoint  # noqa: F401 (the fixture)
from tests.retouch.retouch_support import encoded, mask_png, noise, upload

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
BUCKET = "emotion-garden-retouch-test"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def retouch_storage_from_settings(**env) -> dict:
    """STORAGES["retouch"] as config/settings.py builds it from the environment."""
    code = "import json, django; from django.conf import settings; django.setup(); print(json.dumps(settings.STORAGES['retouch']))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_settings_make_a_private_upload_storage_on_s3():
    storage = retouch_storage_from_settings(
        GARDEN_S3_BUCKET="media", GARDEN_S3_DEFAULT_ACL="public-read", GARDEN_S3_CUSTOM_DOMAIN="cdn.example", GARDEN_S3_PREFIX="garden"
    )
    options = storage["OPTIONS"]
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert (options["bucket_name"], options["location"], options["default_acl"]) == ("media", "garden/retouch-uploads", "private")
    assert options["querystring_auth"] is True and options["custom_domain"] is None
    separate = retouch_storage_from_settings(GARDEN_S3_BUCKET="media", GARDEN_RETOUCH_S3_BUCKET="private-uploads")["OPTIONS"]
    assert separate["bucket_name"] == "private-uploads"
    local = retouch_storage_from_settings(GARDEN_RETOUCH_UPLOAD_ROOT="/srv/uploads")
    assert local["OPTIONS"]["location"] == "/srv/uploads"


def test_uploads_are_private_objects_beside_public_images(settings, s3_endpoint, monkeypatch, staff_client, retouch_settings, no_enqueue):  # noqa: F811
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    for name, value in credentials.items():
        monkeypatch.setenv(name.upper(), value)
    client = boto3.client("s3", endpoint_url=s3_endpoint, **credentials)
    client.create_bucket(Bucket=BUCKET)
    connection = {
        "bucket_name": BUCKET,
        "endpoint_url": s3_endpoint,
        "access_key": "testing",
        "secret_key": "testing",
        "region_name": "us-east-1",
    }
    retouch = retouch_storage_from_settings(GARDEN_S3_BUCKET=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**connection, "querystring_auth": False, "default_acl": "public-read"},
        },
        "retouch": {"BACKEND": retouch["BACKEND"], "OPTIONS": {**retouch["OPTIONS"], **connection}},
    }
    try:
        response = staff_client.post(
            "/api/v1/jobs", {"kind": "retouch", "image": upload(encoded(noise())), "mask": upload(mask_png())}, format="multipart"
        )
        assert response.status_code == 202, response.content
        job = GenerationJob.objects.get()
        keys = {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET)["Contents"]}
        assert keys == {f"retouch-uploads/jobs/{job.pk}/source.png", f"retouch-uploads/jobs/{job.pk}/mask.png"}
        for key in keys:
            grants = client.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
            assert not any(grant["Grantee"].get("URI") == ALL_USERS for grant in grants), grants
            assert client.head_object(Bucket=BUCKET, Key=key)["CacheControl"] == "private, no-store"
        # The contrast: a garden image in the same bucket is public, as kiosks need.
        from tests.retouch.retouch_support import garden_image

        image = garden_image()
        assert any(grant["Grantee"].get("URI") == ALL_USERS for grant in client.get_object_acl(Bucket=BUCKET, Key=image.key)["Grants"])
    finally:
        for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
        client.delete_bucket(Bucket=BUCKET)
