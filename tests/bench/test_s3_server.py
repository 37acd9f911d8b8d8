"""testkit/s3_server.py: a ranged GET answered from the one in-memory copy is what moto itself answers
(the bytes of the file, the status and the headers), and the copy is read once per object.

Two servers in this process on the same moto backend, one plain, one behind the middleware; a
12 MB object put in parts (a multipart ETag, as the library's store puts a model). Seconds.
"""

from __future__ import annotations

import os
import threading

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from testkit import s3_server

BUCKET, KEY = "bench-s3-server-ranges", "models/sha256/abc"  # moto's backend is per process: a name of its own
SIZE = 12 * 1024 * 1024 + 17
VOLATILE = {"date", "server", "x-amzn-requestid", "x-amz-request-id", "x-amz-id-2", "connection"}


@pytest.fixture(scope="module")
def servers():
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    plain = DomainDispatcherApplication(create_backend_app)
    ours = s3_server.RangedFromOneCopy(plain)
    running = []
    for app in (plain, ours):
        server = make_server("127.0.0.1", s3_server.free_port(), app, threaded=True, request_handler=MotoRequestHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        running.append(server)
    yield [f"http://127.0.0.1:{server.server_port}" for server in running], ours
    for server in running:
        server.shutdown()


def client(endpoint: str):
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys)


@pytest.fixture(scope="module")
def stored(servers, tmp_path_factory):
    (plain_url, ours_url), middleware = servers
    data = os.urandom(SIZE)
    source = tmp_path_factory.mktemp("s3") / "model.bin"
    source.write_bytes(data)
    plain = client(plain_url)
    plain.create_bucket(Bucket=BUCKET)
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    plain.upload_file(str(source), BUCKET, KEY, Config=config)
    return data, source, plain, client(ours_url), middleware, ours_url


def answer(s3, spec: str, **extra):
    response = s3.get_object(Bucket=BUCKET, Key=KEY, Range=spec, **extra)
    headers = {k: v for k, v in response["ResponseMetadata"]["HTTPHeaders"].items() if k not in VOLATILE}
    return response["ResponseMetadata"]["HTTPStatusCode"], headers, response["Body"].read()


RANGES = ["bytes=0-0", "bytes=0-4194303", "bytes=5000000-6000000", "bytes=7000000-", "bytes=-100", "bytes=12000000-99999999"]


@pytest.mark.parametrize("spec", [*RANGES, "bytes=0-16777215"])
def test_a_range_is_the_files_bytes_with_motos_status_and_headers(stored, spec):
    data, _, plain, ours, middleware, _ = stored
    served = middleware.counts["ranged_gets_from_copy"]
    etag = plain.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    assert etag.endswith('-3"')  # put in parts
    status, headers, body = answer(ours, spec, IfMatch=etag)
    # The whole object with its checksum asked for (botocore asks) is moto's answer; a part is the copy's.
    whole = spec == "bytes=0-16777215"
    assert middleware.counts["ranged_gets_from_copy"] == served + (0 if whole else 1)
    first, last = s3_server.byte_range(spec.removeprefix("bytes="), SIZE)
    assert body == data[first : last + 1]
    assert (status, headers, body) == answer(plain, spec, IfMatch=etag)
    assert headers["content-range"] == f"bytes {first}-{last}/{SIZE}" and headers["etag"] == etag


def test_the_copy_is_read_once_and_a_download_is_the_file(stored, tmp_path):
    data, _, _, ours, _, endpoint = stored
    ours.download_file(BUCKET, KEY, str(tmp_path / "copy.bin"))  # boto3's ranged parts, in parallel
    assert (tmp_path / "copy.bin").read_bytes() == data
    counts = s3_server.stats(endpoint)
    assert counts["objects_read"] == 1 and counts["ranged_gets_from_copy"] >= 2


def test_what_the_copy_does_not_answer_is_motos(stored):
    _, _, plain, ours, middleware, _ = stored
    served = middleware.counts["ranged_gets_from_copy"]
    for s3 in (plain, ours):
        with pytest.raises(ClientError) as changed:
            s3.get_object(Bucket=BUCKET, Key=KEY, Range="bytes=0-9", IfMatch='"not-its-etag"')
        assert changed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
        with pytest.raises(ClientError) as past:
            s3.get_object(Bucket=BUCKET, Key=KEY, Range=f"bytes={SIZE}-")
        assert past.value.response["Error"]["Code"] == "InvalidRange"
    assert answer(ours, "bytes=0-9,20-29")[0] == answer(plain, "bytes=0-9,20-29")[0] == 200
    assert middleware.counts["ranged_gets_from_copy"] == served


def test_a_replaced_object_is_read_again(stored):
    _, source, plain, ours, middleware, _ = stored
    answer(ours, "bytes=0-0")
    read = middleware.counts["objects_read"]
    plain.put_object(Bucket=BUCKET, Key=KEY, Body=b"x" * 100)
    try:
        assert answer(ours, "bytes=10-19")[2] == b"x" * 10
        assert middleware.counts["objects_read"] == read + 1
    finally:
        plain.upload_file(str(source), BUCKET, KEY)
