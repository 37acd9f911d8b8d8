"""Storage checks (start-up and check --deploy) and presigned staff URLs on a private bucket (moto)."""

import json
import urllib.request
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from django.core.checks import Error
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from curation import selectors as curation_selectors
from garden import checks, thumbnails
from garden.models import Image
from garden.selectors import image_url
from tests.factories import ImageFactory
from tests.garden.test_s3_storage import s3_endpoint  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
BUCKET = "emotion-garden-checks"
SECRET = "s3cr3t-never-printed"


@pytest.fixture
def s3(settings, s3_endpoint, monkeypatch):  # noqa: F811
    """The default storage as config/settings.py builds it for GARDEN_S3_BUCKET (private pool), on moto."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client(
        "s3", endpoint_url=s3_endpoint, aws_access_key_id="testing", aws_secret_access_key=SECRET, region_name="us-east-1"
    )

    def use(**options):
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "garden.storage.GardenS3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "endpoint_url": s3_endpoint,
                    "access_key": "testing",
                    "secret_key": SECRET,
                    "region_name": "us-east-1",
                    "querystring_auth": False,
                    "file_overwrite": False,
                    "private_pool": True,
                    **options,
                },
            },
        }

    use()
    client.use = use
    yield client
    try:
        for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
        client.delete_bucket(Bucket=BUCKET)
    except client.exceptions.NoSuchBucket:
        pass


def _messages(errors) -> str:
    return " | ".join(f"{error.id} {error.msg}" for error in errors)


def test_missing_bucket_is_an_error_naming_it_at_start_and_with_deploy(s3):
    errors = checks.storage_answers()
    assert [error.id for error in errors] == ["garden.E010"]
    assert isinstance(errors[0], Error)
    assert BUCKET in errors[0].msg and "NoSuchBucket" in errors[0].msg
    assert SECRET not in _messages(errors) and "testing" not in _messages(errors)
    with pytest.raises(SystemCheckError) as raised:
        call_command("check", "--deploy", "--tag", "storage")
    assert BUCKET in str(raised.value) and "NoSuchBucket" in str(raised.value)


def test_a_worker_logs_a_missing_bucket_when_it_starts(s3, caplog):
    from celery.signals import worker_ready

    with caplog.at_level("ERROR", logger="garden.checks"):
        worker_ready.send(sender=None)  # connected in garden.apps
    assert any(BUCKET in record.getMessage() and "garden.E010" in record.getMessage() for record in caplog.records)


def test_deploy_check_writes_and_deletes_a_probe_and_reads_a_serving_url(s3):
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=_policy())
    ImageFactory(status=Image.Status.SERVING, emotion="calm", favorite="spring,cloudy,day")
    assert checks.storage_answers() == []
    assert checks.storage_writable() == []
    left = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert not [key for key in left if key.startswith(checks.PROBE_PREFIX)], left
    call_command("check", "--deploy", "--tag", "storage")  # no SystemCheckError


def test_unreadable_public_url_of_a_serving_image_is_an_error(s3, settings, s3_endpoint):  # noqa: F811
    s3.create_bucket(Bucket=BUCKET)
    ImageFactory(status=Image.Status.SERVING, emotion="sad", favorite="winter,snowy,night")
    settings.GARDEN_PUBLIC_BASE_URL = f"{s3_endpoint}/not-the-garden-bucket"  # a CDN pointing at the wrong place
    errors = checks.storage_writable()
    assert [error.id for error in errors] == ["garden.E012"], _messages(errors)
    assert "HTTP 404" in errors[0].msg and "NoSuchBucket" in errors[0].msg and BUCKET in errors[0].msg


def test_private_bucket_staff_urls_are_presigned_and_load_kiosk_urls_stay_plain(s3, client, admin_client, settings):
    s3.create_bucket(Bucket=BUCKET)
    pool = ImageFactory(status=Image.Status.POOL, emotion="happy", favorite="summer,sunny,day")
    serving = ImageFactory(status=Image.Status.SERVING, emotion="happy", favorite="summer,sunny,day")
    thumbnails.ensure_thumbnail(image=pool)

    staff_urls = [
        curation_selectors.thumbnail_url(pool),
        *[item[name] for item in curation_selectors.review_items(queryset=Image.objects.filter(pk=pool.pk)) for name in ("thumb", "full")],
        image_url(pool.key),  # job pages and the retouch page
    ]
    for url in staff_urls:
        assert _signed(url), url
        with urllib.request.urlopen(url, timeout=5) as fetched:
            assert fetched.status == 200 and fetched.read(4)

    # A CDN base URL is for public keys only: a pool image still gets the presigned S3 URL.
    settings.GARDEN_PUBLIC_BASE_URL = "https://cdn.example.org"
    assert _signed(image_url(pool.key))
    assert image_url(serving.key) == f"https://cdn.example.org/{serving.key}"
    settings.GARDEN_PUBLIC_BASE_URL = ""

    response = client.post("/gardenfromDB", data=json.dumps({"emotion": "happy/summer,sunny,day"}), content_type="application/json")
    urls = [entry["url"] for side in ("landscape", "portrait") for entry in response.json()[side]]
    assert urls and all("?" not in url and url.endswith(serving.key) for url in urls), urls

    page = admin_client.get(f"/admin/garden/image/{pool.pk}/change/")
    assert page.status_code == 200
    assert "Signature=" in page.content.decode()


def test_without_private_pool_urls_stay_plain(s3):
    s3.create_bucket(Bucket=BUCKET)
    s3.use(private_pool=False)
    pool = ImageFactory(status=Image.Status.POOL, emotion="calm", favorite="autumn,rainy,day")
    assert "?" not in image_url(pool.key)


def _signed(url: str) -> bool:
    """Presigned by S3 (SigV4 or, for this endpoint, SigV2 query parameters)."""
    query = parse_qs(urlsplit(url).query)
    return "X-Amz-Signature" in query or {"Signature", "Expires"} <= set(query)


def _policy() -> str:
    """The documented policy (docs/operations.md): anonymous GET on emotions/ and display/ only."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicServingAndDisplays",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": [f"arn:aws:s3:::{BUCKET}/emotions/*", f"arn:aws:s3:::{BUCKET}/display/*"],
                }
            ],
        }
    )
