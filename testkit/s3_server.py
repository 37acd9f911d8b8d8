"""moto's S3 server for the model-library benches, its ranged GETs served from one in-memory copy.

moto 5.2.5 reads the whole object (``key.value``) for every ranged GET and then slices it
(moto/s3/responses.py ``_handle_range_header``): ten parallel ranged GETs of a 2.1 GB object hold
about 21 GB and each GET costs a 2 GB copy, which measures moto, not a client. ``RangedFromOneCopy``
is a WSGI middleware in front of moto's own app (``DomainDispatcherApplication(create_backend_app)``,
what ``ThreadedMotoServer`` serves): a plain single-range GET of an object is answered from ONE copy
of that object, read once through moto's public backend API (``get_object(bucket, key).value``) and
kept per bucket/key/ETag, sliced with a memoryview, with the status and headers moto itself sends
for that range (206, Content-Range, Content-Length, ETag, Accept-Ranges, Last-Modified, metadata;
tests/bench/test_s3_server.py compares them; a part of an object carries no checksum headers, as
moto's own range answer drops them). Everything else (PUT, HEAD, a multi-range GET, an If-Match that
differs, other conditional GETs, a "range" that is the whole object with its checksum asked for)
goes to moto untouched. Both clients of a bench
(boto3's ``download_file`` and the library's cache) are served the same way; ``warm`` reads the copy
before anything is timed so that neither pays the first read.

``GET /_bench/stats`` answers this server's counts (requests, ranged GETs served from the copy):
a bench reads them to show that a job fetched nothing.

    python -m testkit.s3_server PORT          # what ``start`` runs in a child process
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
STATS_PATH = "/_bench/stats"
CHUNK = 1024 * 1024  # werkzeug's server writes bytes: the range goes out in 1 MiB copies of the view
# Request headers that make a GET more than a plain read: moto answers those itself.
MOTO_ONLY = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE")
ACCOUNT = "123456789012"  # moto's default account: what the benches' "testing" keys map to


class RangedFromOneCopy:
    """WSGI middleware: single-range GETs of an object from one in-memory copy (the module's docstring)."""

    def __init__(self, app, account: str = ACCOUNT) -> None:
        self.app, self.account = app, account
        self.copies: dict[tuple[str, str], tuple[str, memoryview]] = {}
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def backend(self):
        from moto.s3.models import s3_backends

        return s3_backends[self.account]["aws"]

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == STATS_PATH:
            body = json.dumps(dict(self.counts)).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        self.counts["requests"] += 1
        answer = self.ranged(environ, path)
        if answer is None:
            return self.app(environ, start_response)
        status, headers, view = answer
        self.counts["ranged_gets_from_copy"] += 1
        self.counts["bytes_from_copy"] += len(view)
        start_response(status, headers)
        return (bytes(view[start : start + CHUNK]) for start in range(0, len(view), CHUNK))

    def ranged(self, environ, path: str):
        """(status, headers, the range's view) for a plain single-range GET of an object, else None."""
        from moto.settings import DISABLE_GLOBAL_CORS

        spec = environ.get("HTTP_RANGE", "")
        if environ["REQUEST_METHOD"] != "GET" or environ.get("QUERY_STRING") or not spec.startswith("bytes="):
            return None
        if "," in spec or any(environ.get(name) for name in MOTO_ONLY):
            return None
        bucket, _, name = path.lstrip("/").partition("/")  # path-style: what botocore uses for an IP endpoint
        if not bucket or not name:
            return None
        try:
            key = self.backend().get_object(bucket, unquote(name))
        except Exception:  # no such bucket: moto says so in its own words
            return None
        if key is None or key.version_id != "null":
            return None
        match = environ.get("HTTP_IF_MATCH")
        if match and match.strip() != key.etag:
            return None  # moto answers 412
        view = self.copy(bucket, name, key)
        bounds = byte_range(spec[len("bytes=") :], len(view))
        if bounds is None:
            return None  # not satisfiable or not a range: moto's answer
        begin, end = bounds
        if environ.get("HTTP_X_AMZ_CHECKSUM_MODE") and begin == 0 and end == len(view) - 1:
            return None  # the whole object keeps its checksum headers (botocore asks for them): moto's answer
        headers = {**key.response_dict, **key.metadata, "Accept-Ranges": "bytes"}
        if begin or end < len(view) - 1:  # a part: no checksum headers, as moto's range answer drops them
            headers = {name: value for name, value in headers.items() if not name.lower().startswith("x-amz-checksum-")}
        headers["content-range"] = f"bytes {begin}-{end}/{len(view)}"
        headers["content-length"] = str(end - begin + 1)
        if not DISABLE_GLOBAL_CORS:  # moto's app answers every request through flask-cors
            headers["Access-Control-Allow-Origin"] = "*"
        return "206 Partial Content", [(str(k), str(v)) for k, v in headers.items()], view[begin : end + 1]

    def copy(self, bucket: str, name: str, key) -> memoryview:
        """The object's one in-memory copy, read once per ETag (a replaced object is read again)."""
        with self.lock:
            held = self.copies.get((bucket, name))
            if held is None or held[0] != key.etag:
                self.copies.pop((bucket, name), None)  # the old copy goes before the new one is read
                self.copies[(bucket, name)] = (key.etag, memoryview(key.value))
                self.counts["objects_read"] += 1
            return self.copies[(bucket, name)][1]


def byte_range(spec: str, length: int) -> tuple[int, int] | None:
    """``first-last``, ``first-`` or ``-suffix`` within ``length`` bytes, as moto reads them; None otherwise."""
    try:
        first, last = (int(part) if part else None for part in spec.split("-"))
    except ValueError:
        return None
    if first is not None:
        if first >= length:
            return None
        last = length - 1 if last is None else min(last, length - 1)
    elif last:
        first, last = length - min(last, length), length - 1
    else:
        return None
    return (first, last) if first <= last else None


def application():
    from moto.server import DomainDispatcherApplication, create_backend_app

    return RangedFromOneCopy(DomainDispatcherApplication(create_backend_app))


def serve(port: int) -> None:
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    make_server("127.0.0.1", port, application(), threaded=True, request_handler=MotoRequestHandler).serve_forever()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(port: int) -> subprocess.Popen:
    """The server in a child process on loopback, once it answers."""
    server = subprocess.Popen(
        [sys.executable, "-m", "testkit.s3_server", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return server
        if server.poll() is not None:
            break
        time.sleep(0.2)
    server.kill()
    raise SystemExit("moto's server did not start")


def stats(endpoint: str) -> dict:
    with urllib.request.urlopen(endpoint + STATS_PATH, timeout=10) as answer:
        return json.loads(answer.read())


def warm(client, bucket: str, key: str) -> float:
    """One small ranged GET: the server reads its copy now, before anything is timed (seconds)."""
    started = time.perf_counter()
    client.get_object(Bucket=bucket, Key=key, Range="bytes=0-0")["Body"].read()
    return time.perf_counter() - started


if __name__ == "__main__":
    serve(int(sys.argv[1]))
