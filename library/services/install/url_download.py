"""An http(s) URL's file, downloaded into the staging folder with requests.

The bytes go into ``<key>.part`` (``<key>``: the URL's hash), its validators (ETag or Last-Modified)
into ``<key>.part.json``. A cut connection is resumed with a Range request (If-Range: only while the
file is unchanged), up to URL_ATTEMPTS times in one run; the part is kept for the next run after
that. Redirects are followed by hand so that every host on the way is checked
(library.services.install.addresses); an HTML answer is refused at its first bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

from library.services.install import addresses, staging
from library.services.install.errors import InstallError
from library.services.install.progress_reports import Progress
from library.services.install.staging import Fetched, check_free_space, check_sha256, is_disk_full, remove
from library.services.install.verification import is_html

MAX_REDIRECTS = 8
URL_ATTEMPTS = 4  # one download and up to three resumes after a cut connection
RETRY_PAUSE = 0.5
HEADERS = {"User-Agent": "emotion-garden-install/1 (+docs/models.md)", "Accept-Encoding": "identity"}


def _no_check(what: str, **_kwargs) -> None:
    pass


class _Cut(Exception):
    """The body stopped coming (connection reset or closed early, a read timeout)."""


def fetch_url(url: str, folder: Path, *, expected: str, progress: Progress, precheck: Callable[..., None] = _no_check) -> Fetched:
    """``precheck(url, filename=…)`` is asked with the URL's file name before the request, and with
    the server's Content-Disposition name (when it differs) before the body is read."""
    precheck(url, filename=_filename_from(url, ""))
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    with staging.one_install_at_a_time(folder / f"{key}.lock", url):
        return _download(url, folder / f"{key}.part", expected=expected, progress=progress, precheck=precheck)


def _download(url: str, part: Path, *, expected: str, progress: Progress, precheck: Callable[..., None]) -> Fetched:
    import requests

    meta_path = part.with_name(part.name + ".json")
    meta: dict = {}
    if part.exists() and meta_path.exists():
        with contextlib.suppress(OSError, ValueError):
            meta = json.loads(meta_path.read_text())
    elif part.exists():
        part.unlink()  # a part without its validators cannot be resumed safely
    token = os.environ.get("HF_TOKEN", "")
    session = requests.Session()
    last_error = ""
    for attempt in range(URL_ATTEMPTS):
        have = part.stat().st_size if part.exists() else 0
        request_headers = dict(HEADERS)
        if have and meta.get("validator"):
            request_headers["Range"] = f"bytes={have}-"
            request_headers["If-Range"] = meta["validator"]
        try:
            response, final_url = _get_following_redirects(session, url, request_headers, token)
        except requests.RequestException as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(RETRY_PAUSE * (attempt + 1))
            continue
        with response:
            status = response.status_code
            if status == 416 and have:
                part.unlink()  # the part is longer than the file now: start over
                continue
            _refuse_answer(url, response, part, meta_path)
            resuming = status == 206 and have > 0 and _range_start(response.headers.get("Content-Range", "")) == have
            if status == 206 and not resuming:
                # A part of the file from elsewhere than where ours ends: start again from the beginning.
                remove(part)
                meta = {}
                last_error = f"the server answered another range ({response.headers.get('Content-Range', '')})"
                continue
            if not resuming:
                have = 0
            total = _total_size(response, have)
            filename = _filename_from(url, response.headers.get("Content-Disposition", ""))
            if filename != _filename_from(url, ""):
                precheck(url, filename=filename)
            meta = {
                "url": url,
                "final_url": final_url,
                "filename": filename,
                "validator": response.headers.get("ETag") or response.headers.get("Last-Modified") or meta.get("validator", ""),
                "total": total,
            }
            meta_path.write_text(json.dumps(meta))
            if total is not None:
                check_free_space(part.parent, total - have, url)
            digest = hashlib.sha256()
            if resuming:
                with part.open("rb") as existing:
                    for chunk in iter(lambda: existing.read(staging.CHUNK), b""):
                        digest.update(chunk)
            done = have
            progress(done, total, filename)
            try:
                with part.open("ab" if resuming else "wb") as out:
                    for chunk in _body(response):
                        if done == 0 and is_html(chunk):
                            raise InstallError(f"not a model: {url} answered an HTML page, not a model file.")
                        staging.write_chunk(out, chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        progress(done, total, filename)
            except InstallError:
                remove(part, meta_path)
                raise
            except _Cut as exc:
                last_error = f"the connection broke after {done} of {total or '?'} bytes ({exc})"
                time.sleep(RETRY_PAUSE * (attempt + 1))
                continue
            except OSError as exc:
                if is_disk_full(exc):
                    remove(part, meta_path)
                    raise InstallError(
                        f"disk full while writing {filename} into {part.parent.parent}: free some space and install again."
                    ) from None
                raise InstallError(f"cannot write {filename} into {part.parent}: {exc}.") from None
            if total is not None and done < total:
                last_error = f"the connection broke after {done} of {total} bytes"
                time.sleep(RETRY_PAUSE * (attempt + 1))
                continue
            sha = digest.hexdigest()
            check_sha256(expected, sha, part, meta_path)
            return Fetched(part, filename, sha256=sha, size=done, extra=[meta_path])
    raise InstallError(f"{url}: {last_error}; run the same install again to resume (the part is kept in {staging.STAGING}/).")


def _refuse_answer(url: str, response, part: Path, meta_path: Path) -> None:
    """An error status or an HTML page is no model: refused (and the part dropped) before any byte."""
    status = response.status_code
    if status >= 400:
        remove(part, meta_path)
        raise InstallError(f"{url}: HTTP {status} {response.reason or ''}".rstrip() + ".")
    if status not in (200, 206):
        raise InstallError(f"{url}: unexpected HTTP {status}.")
    content_type = response.headers.get("Content-Type", "").lower()
    if content_type.startswith(("text/html", "application/xhtml")):
        remove(part, meta_path)
        raise InstallError(f"not a model: {url} answered an HTML page ({content_type.split(';')[0]}), not a model file.")


def _body(response) -> Iterator[bytes]:
    """The response body as it arrives, at most CHUNK bytes at a time; every byte received before a
    cut is yielded (urllib3's ``read1``), then _Cut. A clean early close ends the iteration (the
    caller compares the count with the length)."""
    import http.client

    import urllib3

    raw = response.raw
    while True:
        try:
            chunk = raw.read1(staging.CHUNK, decode_content=False)
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            raise _Cut(type(exc).__name__) from None
        if not chunk:
            return
        yield chunk


def _get_following_redirects(session, url: str, headers: dict, token: str):
    """GET with redirects followed by hand, so that every host on the way is checked."""
    current = url
    for _ in range(MAX_REDIRECTS):
        addresses.check_url_allowed(current)
        request_headers = dict(headers)
        host = urllib.parse.urlsplit(current).hostname or ""
        if token and (host == "huggingface.co" or host.endswith(".huggingface.co")):
            request_headers["Authorization"] = f"Bearer {token}"
        response = session.get(current, headers=request_headers, stream=True, allow_redirects=False, timeout=(15, 60))
        addresses.check_peer(current, response)
        if response.is_redirect or response.status_code in (301, 302, 303, 307, 308):
            location = response.headers.get("Location", "")
            response.close()
            if not location:
                raise InstallError(f"{current}: a redirect without a Location.")
            current = urllib.parse.urljoin(current, location)
            continue
        return response, current
    raise InstallError(f"{url}: more than {MAX_REDIRECTS} redirects.")


def _range_start(content_range: str) -> int | None:
    match = re.match(r"bytes\s+(\d+)-\d+/(\d+|\*)", content_range.strip())
    return int(match.group(1)) if match else None


def _total_size(response, have: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    match = re.match(r"bytes\s+\d+-\d+/(\d+)", content_range.strip())
    if response.status_code == 206 and match:
        return int(match.group(1))
    length = response.headers.get("Content-Length")
    if length and length.isdigit():
        return int(length) + (have if response.status_code == 206 else 0)
    return None


def _filename_from(url: str, disposition: str) -> str:
    """The file name from Content-Disposition (``filename*=UTF-8''…`` first), else the URL's path."""
    name = ""
    if disposition:
        star = re.search(r"filename\*\s*=\s*(?:[\w-]+)?'[^']*'([^;]+)", disposition, re.IGNORECASE)
        plain = re.search(r'filename\s*=\s*"([^"]*)"', disposition, re.IGNORECASE) or re.search(
            r"filename\s*=\s*([^;\s]+)", disposition, re.IGNORECASE
        )
        if star:
            name = urllib.parse.unquote(star.group(1).strip())
        elif plain:
            name = plain.group(1).strip()
    if not name:
        name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rstrip("/").rpartition("/")[2])
    name = name.replace("\\", "/").rpartition("/")[2].strip().lstrip(".")
    return name or "model"
