"""Real HTTP servers on 127.0.0.1 for the install tests (tests/library/test_install_model.py).

``FileServer`` serves bytes by path with HTTP Range (206, ``Content-Range``, ``ETag``); a path can be
told to cut the connection after some bytes for its first N answers, to answer 404, an HTML page,
a redirect, or a ``Content-Disposition`` name. ``HubServer`` answers the few routes
huggingface_hub uses to download a model repo (read in huggingface_hub/hf_api.py and
file_download.py): ``GET /api/models/<repo>[/revision/<rev>]`` (model_info with ``blobs=true``), and
``HEAD``/``GET /<repo>/resolve/<rev>/<path>`` with ``X-Repo-Commit``, ``ETag`` and Range.
Both run in a daemon thread and stop at the end of the test.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Served:
    body: bytes = b""
    content_type: str = "application/octet-stream"
    cut_after: int = 0  # >0: send this many bytes, then close the connection…
    cuts: int = 0  # …for this many answers
    status: int = 200
    disposition: str = ""
    location: str = ""
    requests: list[str] = field(default_factory=list)  # the Range header of each GET ("" for none)


def _send_range(handler: BaseHTTPRequestHandler, body: bytes, extra: dict[str, str], served: Served | None = None) -> None:
    start = 0
    match = re.match(r"bytes=(\d+)-$", handler.headers.get("Range", ""))
    if_range = handler.headers.get("If-Range")
    if match and (if_range is None or if_range == extra.get("ETag")):
        start = int(match.group(1))
    if start > len(body):
        handler.send_response(416)
        handler.send_header("Content-Range", f"bytes */{len(body)}")
        handler.end_headers()
        return
    chunk = body[start:]
    handler.send_response(206 if start else 200)
    for name, value in extra.items():
        handler.send_header(name, value)
    handler.send_header("Accept-Ranges", "bytes")
    handler.send_header("Content-Length", str(len(chunk)))
    if start:
        handler.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
    handler.end_headers()
    if handler.command == "HEAD":
        return
    if served is not None and served.cuts > 0 and served.cut_after:
        served.cuts -= 1
        handler.wfile.write(chunk[: served.cut_after])
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.shutdown(2)  # the client sees fewer bytes than Content-Length said
        return
    handler.wfile.write(chunk)


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass


class FileServer:
    def __init__(self) -> None:
        self.files: dict[str, Served] = {}
        outer = self

        class Handler(_Quiet):
            def do_GET(self) -> None:
                served = outer.files.get(self.path)
                if served is None:
                    self.send_response(404, "Not Found")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                served.requests.append(self.headers.get("Range", ""))
                if served.location:
                    self.send_response(302)
                    self.send_header("Location", served.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if served.status != 200:
                    self.send_response(served.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                extra = {"Content-Type": served.content_type, "ETag": '"' + hashlib.md5(served.body).hexdigest() + '"'}
                if served.disposition:
                    extra["Content-Disposition"] = served.disposition
                _send_range(self, served.body, extra, served)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, path: str, **kwargs) -> str:
        self.files[path] = Served(**kwargs)
        return self.base + path

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class HubServer:
    """A stand-in for huggingface.co serving one commit of some repos: {repo_id: {path: bytes}}."""

    COMMIT = "0123456789abcdef0123456789abcdef01234567"

    def __init__(self, repos: dict[str, dict[str, bytes]], *, lfs_suffixes: tuple[str, ...] = (".safetensors",)) -> None:
        self.repos = repos
        self.seen: list[str] = []
        self.authorization: list[str] = []  # the Authorization header of each request ("" for none)
        outer = self

        class Handler(_Quiet):
            def _file(self) -> tuple[str, str, bytes] | None:
                for repo, files in outer.repos.items():
                    prefix = f"/{repo}/resolve/"
                    if self.path.startswith(prefix):
                        revision, _, name = self.path[len(prefix) :].partition("/")
                        if name in files and revision in (outer.COMMIT, "main"):
                            return repo, name, files[name]
                return None

            def _json(self, status: int, payload) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if status == 404:
                    self.send_header("X-Error-Code", "RepoNotFound")
                self.end_headers()
                self.wfile.write(body)

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                outer.seen.append(f"{self.command} {self.path}")
                outer.authorization.append(self.headers.get("Authorization", ""))
                match = re.match(r"^/api/models/([^/?]+/[^/?]+)(?:/revision/([^/?]+))?(?:\?.*)?$", self.path)
                if match:
                    repo = match.group(1)
                    if repo not in outer.repos or (match.group(2) or "main") not in ("main", outer.COMMIT):
                        self._json(404, {"error": "Repository not found"})
                        return
                    siblings = []
                    for name, body in outer.repos[repo].items():
                        sibling = {"rfilename": name, "size": len(body), "blobId": hashlib.sha1(body).hexdigest()}
                        if name.endswith(lfs_suffixes):
                            sibling["lfs"] = {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body), "pointerSize": 134}
                        siblings.append(sibling)
                    self._json(200, {"id": repo, "modelId": repo, "sha": outer.COMMIT, "siblings": siblings, "private": False})
                    return
                found = self._file()
                if found is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                _, name, body = found
                lfs = name.endswith(lfs_suffixes)
                etag = hashlib.sha256(body).hexdigest() if lfs else hashlib.sha1(body).hexdigest()
                extra = {"X-Repo-Commit": outer.COMMIT, "ETag": f'"{etag}"', "Content-Type": "application/octet-stream"}
                if lfs:
                    extra["X-Linked-Etag"] = f'"{etag}"'
                    extra["X-Linked-Size"] = str(len(body))
                _send_range(self, body, extra)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
