"""The S3 path through django-storages + boto3 against a real S3-speaking HTTP server (moto)."""

import json
import socket
import urllib.request

import boto3
import pytest
from django.core.files.storage import default_storage

from garden import services
from garden.models import Image
from tests.factories import ImageFactory, jpeg_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
BUCKET = "emotion-garden-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    moto_server = pytest.importorskip("moto.server")
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_storage(settings, s3_endpoint, monkeypatch):
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    for name, value in credentials.items():
        monkeypatch.setenv(name.upper(), value)
    client = boto3.client("s3", endpoint_url=s3_endpoint, **credentials)
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "querystring_auth": False,
                "file_overwrite": False,
                "default_acl": "public-read",  # kiosks fetch the URLs anonymously
            },
        },
    }
    yield client
    listing = client.list_objects_v2(Bucket=BUCKET)
    for item in listing.get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_images_are_written_to_the_bucket_under_their_key(s3_storage):
    image = ImageFactory(status=Image.Status.POOL, emotion="calm", favorite="spring,cloudy,day")
    body = s3_storage.get_object(Bucket=BUCKET, Key=image.key)["Body"].read()
    assert body == services.read_file(image.key)
    assert services.sha256(body) == image.content_hash


def test_promotion_moves_the_object_and_kiosk_urls_load(s3_storage, client, django_capture_on_commit_callbacks):
    image = ImageFactory(status=Image.Status.POOL, emotion="happy", favorite="summer,sunny,day")
    with django_capture_on_commit_callbacks(execute=True):
        promoted = services.promote_image(image=image)

    keys = {item["Key"] for item in s3_storage.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {promoted.key}

    response = client.post("/gardenfromDB", data=json.dumps({"emotion": "happy/summer,sunny,day"}), content_type="application/json")
    url = response.json()["landscape"][0]["url"]
    assert url[url.rindex("emotions") :] == promoted.key
    with urllib.request.urlopen(url, timeout=5) as fetched:  # the real HTTP server answers the URL
        assert fetched.read()[:3] == b"\xff\xd8\xff"


def test_write_file_replaces_existing_object_in_place(s3_storage):
    key = "imgPool/sad/img_20230320-121242_1h.jpeg"
    services.write_file(key=key, content=jpeg_bytes(color=(1, 2, 3)))
    services.write_file(key=key, content=b"second")
    assert default_storage.exists(key)
    assert s3_storage.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"second"


def test_a_failed_rewrite_on_s3_leaves_the_old_object_served(s3_storage, monkeypatch):
    """The replacement is one PUT (never a DELETE first): a PUT the bucket refuses leaves the old object."""
    from botocore.exceptions import ClientError

    image = ImageFactory(status=Image.Status.SERVING, emotion="calm")
    old = s3_storage.get_object(Bucket=BUCKET, Key=image.key)["Body"].read()
    storage = type(default_storage._wrapped)

    def refused(self, name, content):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, "PutObject")

    monkeypatch.setattr(storage, "_save", refused)
    with pytest.raises(services.StorageError):
        services.rewrite_image(image=image, content=b"new bytes")
    monkeypatch.undo()
    assert s3_storage.get_object(Bucket=BUCKET, Key=image.key)["Body"].read() == old
    assert Image.objects.get(pk=image.pk).content_hash == image.content_hash
    services.rewrite_image(image=image, content=b"new bytes")  # the retry goes through
    assert s3_storage.get_object(Bucket=BUCKET, Key=image.key)["Body"].read() == b"new bytes"
    assert Image.objects.get(pk=image.pk).content_hash == services.sha256(b"new bytes")
