"""Install a model into the library (GARDEN_MODELS_DIR) from a Hub repo id, an http(s) URL or a local path.

``install(source, …)`` is what ``manage.py install_model`` and the admin's "Install a model" (a worker
task) call (docs/models.md#installing-models):

1. everything is written into the staging folder ``GARDEN_MODELS_DIR/.incoming/`` (the scan skips
   dot-folders, so nothing there is ever an entry): a URL's bytes into ``<key>.part`` (kept after a
   cut connection; the next try resumes with an HTTP Range request), a Hub repo through
   huggingface_hub into ``<key>/`` (which resumes its own ``.incomplete`` files);
2. the result is checked: the sha256 (computed while downloading, 1 MiB at a time) against
   ``--sha256``; a model, not something else (a readable safetensors header whose tensors fit the
   file, a torch zip or pickle, a diffusers folder with ``model_index.json``; an HTML page is
   refused at once);
3. it is moved into place with one ``os.replace`` (same file system), beside it a sidecar JSON that
   records where it came from (``X.safetensors.source.json``, or ``<folder>/.source.json``) and that
   the scan reads into ``LibraryEntry.source`` (reusing the sha256 while size and mtime match);
4. the library is rescanned.

Any failure raises InstallError with a one-line reason and leaves nothing in the library: no file,
no entry. URLs whose host resolves to a private, loopback, link-local or otherwise non-public
address are refused (each redirect too) unless GARDEN_MODELS_ALLOW_PRIVATE_URLS is set.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import ipaddress
import json
import os
import re
import shutil
import socket
import struct
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from config.errors import DomainError

STAGING = ".incoming"
CHUNK = 1 << 20  # 1 MiB: the read, write and hash unit
# Install kind → folder under GARDEN_MODELS_DIR ("" the top: checkpoints and pipelines).
KIND_FOLDERS = {
    "checkpoint": "",
    "pipeline": "",
    "lora": "loras",
    "embedding": "embeddings",
    "vae": "vae",
    "upscaler": "upscalers",
    "expression": "expression",
}
KINDS = tuple(KIND_FOLDERS)
LIBRARY_SUFFIXES = (".safetensors", ".ckpt", ".pth")  # what the scan reads (generation.library_files)
EXPRESSION_SUFFIXES = (".onnx", ".tflite")
HUB_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".msgpack", ".h5", ".onnx", ".onnx_data", ".pb", ".gguf")
HUB_SKIPPED_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".mp4", ".gitattributes")
# Same markers as the scan (generation.services.library): a LoRA's or an embedding's keys.
LORA_MARKERS = ("lora_unet_", "lora_te", "lora_A", "lora_B", "lora_down", "lora_up", "lora.down", "lora.up", "hada_", "lokr_")
EMBEDDING_KEYS = ("emb_params", "string_to_param", "clip_l", "clip_g")
CHECKPOINT_PREFIXES = (
    "model.diffusion_model.",
    "conditioner.embedders.",
    "cond_stage_model.",
    "double_blocks.",
    "single_blocks.",
    "joint_blocks.",
    "transformer_blocks.",
)
VAE_PREFIXES = ("encoder.", "decoder.", "first_stage_model.", "quant_conv.", "post_quant_conv.")
UPSCALER_PREFIXES = ("conv_first.", "body.", "model.0.", "RRDB_trunk.", "conv_body.", "conv_up1.", "layers.0.residual_group.", "upconv1.")
REPO_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?::(?P<subfolder>[\w./-]+))?$")
NAME = re.compile(r"^[\w][\w .+@-]{0,150}$")
MAX_REDIRECTS = 8
URL_ATTEMPTS = 4  # one download and up to three resumes after a cut connection
RETRY_PAUSE = 0.5

Progress = Callable[[int, "int | None", str], None]  # (bytes done, bytes in all or None, what)


class InstallError(DomainError):
    """The model could not be installed; nothing was left in the library. The message says why."""


@dataclass
class Installed:
    path: Path  # where it now is (a file or a folder)
    kind: str
    source: str
    revision: str = ""
    sha256: str = ""  # files only
    size: int = 0
    entry: Any = None  # the LibraryEntry the rescan made of it, when it made one
    scan_note: str = ""  # what the rescan said about it when it made no usable entry
    settings_lines: list[str] = field(default_factory=list)  # expression models: the settings to set

    @property
    def relative(self) -> str:
        return self.path.relative_to(models_root()).as_posix()


def _noop(done: int, total: int | None, what: str) -> None:
    pass


def models_root() -> Path:
    if not settings.GARDEN_MODELS_DIR:
        raise InstallError("GARDEN_MODELS_DIR is empty: set it to the models folder to install models into.")
    root = Path(settings.GARDEN_MODELS_DIR).expanduser()
    if not root.is_dir():
        raise InstallError(f"GARDEN_MODELS_DIR ({root}) is not a folder: create it first.")
    if not os.access(root, os.W_OK):
        raise InstallError(f"GARDEN_MODELS_DIR ({root}) is not writable here: install where the models folder is mounted writable.")
    return root


def staging_root() -> Path:
    folder = models_root() / STAGING
    folder.mkdir(exist_ok=True)
    return folder


# --- the one entry point ------------------------------------------------------------------------


def install(
    source: str,
    *,
    name: str = "",
    kind: str = "",
    revision: str = "",
    subfolder: str = "",
    variant: str = "",
    sha256: str = "",
    force: bool = False,
    rescan: bool = True,
    classes: str = "",
    input_size: str = "",
    color: str = "",
    progress: Progress | None = None,
) -> Installed:
    """Install ``source`` (a Hub repo id ``owner/name[:subfolder]``, an http(s) URL, or a local file
    or folder) into the library; see the module's docstring. ``kind`` is one of KINDS ("" detects
    it). ``classes``, ``input_size`` and ``color`` are for ``kind="expression"`` (docs/faces.md)."""
    progress = progress or _noop
    source = source.strip()
    if kind and kind not in KINDS:
        raise InstallError(f"--kind {kind!r}: use one of {', '.join(KINDS)}.")
    if name and (not NAME.match(name) or name.startswith(".")):
        raise InstallError(
            f"--name {name!r}: use letters, digits, spaces, '.', '_', '+', '@' or '-' (no slashes), not starting with a dot."
        )
    expected = sha256.strip().lower()
    if expected and not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise InstallError(f"--sha256 {sha256!r}: expected 64 hexadecimal digits.")
    if kind == "expression" and not classes:
        raise InstallError(
            "An expression model needs its class map: --classes neutral=CALM,happiness=HAPPY,… in output order, "
            "or --classes a .json/.txt file of the class names (docs/faces.md#installing-an-expression-model)."
        )
    root = models_root()
    staging = staging_root()
    is_hub = not source.startswith(("http://", "https://")) and not Path(source).expanduser().exists() and REPO_ID.match(source)
    if (revision or subfolder or variant) and not is_hub:
        raise InstallError("--revision, --subfolder and --variant are for Hub repo ids (owner/name), not URLs or paths.")
    if source.startswith(("http://", "https://")):
        fetched = _fetch_url(source, staging, expected=expected, progress=progress)
        revision = ""
    elif source.lower().startswith(("ftp://", "file://", "s3://", "hf://")) or "://" in source:
        raise InstallError(f"{source}: only http(s) URLs, Hub repo ids (owner/name) and local paths can be installed.")
    elif Path(source).expanduser().exists():
        fetched = _copy_local(Path(source).expanduser(), staging, expected=expected, progress=progress)
        revision = ""
    elif REPO_ID.match(source):
        match = REPO_ID.match(source)
        assert match is not None
        subfolder = subfolder or match.group("subfolder") or ""
        repo = match.group("repo")
        with _only_one(staging / f"hub-{repo.replace('/', '--')}.lock", repo):
            fetched = _fetch_hub(repo, staging, revision=revision, subfolder=subfolder, variant=variant, progress=progress)
        revision = fetched.revision
        if expected and fetched.is_file and fetched.sha256 != expected:
            fetched.discard()
            raise InstallError(f"checksum mismatch: expected sha256 {expected}, got {fetched.sha256}.")
    else:
        raise InstallError(f"{source}: not an http(s) URL, an existing file or folder, or a Hub repo id (owner/name).")
    if expected and not fetched.is_file:
        fetched.discard()
        raise InstallError("--sha256 checks one file; this source is a folder.")
    try:
        return _place(
            fetched,
            root,
            source=source,
            name=name,
            kind=kind,
            revision=revision,
            force=force,
            rescan=rescan,
            classes=classes,
            input_size=input_size,
            color=color,
        )
    finally:
        fetched.discard()


@dataclass
class Fetched:
    """What a fetch left in the staging folder: one file or one folder, with what is known of it."""

    path: Path
    filename: str  # the name it should have (a URL's Content-Disposition or path; a local name)
    sha256: str = ""
    size: int = 0
    revision: str = ""
    extra: list[Path] = field(default_factory=list)  # other staging files to remove afterwards

    @property
    def is_file(self) -> bool:
        return self.path.is_file()

    def discard(self) -> None:
        for path in (self.path, *self.extra):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()


# --- URLs ---------------------------------------------------------------------------------------


def check_url_allowed(url: str) -> None:
    """Refuse other schemes, and hosts that resolve to a non-public address (every address checked)
    unless GARDEN_MODELS_ALLOW_PRIVATE_URLS allows them."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InstallError(f"{url}: only http and https URLs with a host can be installed.")
    if settings.GARDEN_MODELS_ALLOW_PRIVATE_URLS:
        return
    host = parts.hostname
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host.split("%", 1)[0])  # an address, not a name: checked as it is
        _refuse_private(url, host, host)
        return
    try:
        addresses = _resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError) as exc:
        if _proxied(url):
            return  # behind an HTTP proxy that resolves names itself: the proxy's own rules apply
        raise InstallError(f"{url}: cannot resolve {host}: {exc}.") from None
    for address in addresses:
        _refuse_private(url, host, address)


def _proxied(url: str) -> bool:
    """Whether requests sends this URL through a proxy (HTTP(S)_PROXY, not bypassed by NO_PROXY)."""
    import requests.utils

    return urllib.parse.urlsplit(url).scheme in requests.utils.get_environ_proxies(url)


def _resolve(host: str, port: int) -> list[str]:
    """Every address the host name resolves to (the check's own look-up)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


def _refuse_private(url: str, host: str, text: str) -> None:
    address = ipaddress.ip_address(text.split("%", 1)[0])
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if not address.is_global or address.is_multicast:
        raise InstallError(
            f"{url}: {host} is a private, loopback or link-local address ({address}); "
            "set GARDEN_MODELS_ALLOW_PRIVATE_URLS=true to install from such hosts."
        )


def _check_peer(url: str, response) -> None:
    """The address the connection really reached, checked again: a host name that resolved to a
    public address for check_url_allowed and to a private one when connecting (DNS rebinding) is
    refused before any of its body is read."""
    if settings.GARDEN_MODELS_ALLOW_PRIVATE_URLS or _proxied(url):
        return  # through a proxy the socket's peer is the proxy, not the host
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is None:
        return  # no socket to ask (already closed): the body is empty or was read by urllib3
    try:
        peer = sock.getpeername()[0]
    except OSError:
        return
    try:
        _refuse_private(url, urllib.parse.urlsplit(url).hostname or "", str(peer))
    except InstallError:
        response.close()
        raise


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


def _is_html(first: bytes) -> bool:
    head = first[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml", b"<!--")) or b"<html" in head


@contextlib.contextmanager
def _only_one(lock: Path, what: str) -> Iterator[None]:
    """One install of the same source at a time (they would write the same staging file)."""
    import fcntl

    with lock.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InstallError(f"{what} is being installed already; wait for that install to end.") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()


def _fetch_url(url: str, staging: Path, *, expected: str, progress: Progress) -> Fetched:
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    with _only_one(staging / f"{key}.lock", url):
        return _fetch_url_locked(url, staging, key, expected=expected, progress=progress)


def _fetch_url_locked(url: str, staging: Path, key: str, *, expected: str, progress: Progress) -> Fetched:
    import requests

    part = staging / f"{key}.part"
    meta_path = staging / f"{key}.part.json"
    meta: dict = {}
    if part.exists() and meta_path.exists():
        with contextlib.suppress(OSError, ValueError):
            meta = json.loads(meta_path.read_text())
    elif part.exists():
        part.unlink()  # a part without its validators cannot be resumed safely
    headers = {"User-Agent": "emotion-garden-install/1 (+docs/models.md)", "Accept-Encoding": "identity"}
    token = os.environ.get("HF_TOKEN", "")
    session = requests.Session()
    last_error = ""
    for attempt in range(URL_ATTEMPTS):
        have = part.stat().st_size if part.exists() else 0
        request_headers = dict(headers)
        if have and meta.get("validator"):
            request_headers["Range"] = f"bytes={have}-"
            request_headers["If-Range"] = meta["validator"]
        try:
            response, final_url = _get_following(session, url, request_headers, token)
        except InstallError:
            raise
        except requests.RequestException as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(RETRY_PAUSE * (attempt + 1))
            continue
        with response:
            status = response.status_code
            if status == 416 and have:
                part.unlink()  # the part is longer than the file now: start over
                continue
            if status >= 400:
                reason = response.reason or ""
                _discard(part, meta_path)
                raise InstallError(f"{url}: HTTP {status} {reason}".rstrip() + ".")
            if status not in (200, 206):
                raise InstallError(f"{url}: unexpected HTTP {status}.")
            content_type = response.headers.get("Content-Type", "").lower()
            if content_type.startswith(("text/html", "application/xhtml")):
                _discard(part, meta_path)
                raise InstallError(f"not a model: {url} answered an HTML page ({content_type.split(';')[0]}), not a model file.")
            resuming = status == 206 and have > 0 and _range_start(response.headers.get("Content-Range", "")) == have
            if status == 206 and not resuming:
                # A part of the file from elsewhere than where ours ends: start again from the beginning.
                _discard(part)
                meta = {}
                last_error = f"the server answered another range ({response.headers.get('Content-Range', '')})"
                continue
            if not resuming:
                have = 0
            total = _total_size(response, have)
            filename = _filename_from(url, response.headers.get("Content-Disposition", ""))
            meta = {
                "url": url,
                "final_url": final_url,
                "filename": filename,
                "validator": response.headers.get("ETag") or response.headers.get("Last-Modified") or meta.get("validator", ""),
                "total": total,
            }
            meta_path.write_text(json.dumps(meta))
            if total is not None:
                _check_free_space(staging, total - have, url)
            digest = hashlib.sha256()
            if resuming:
                with part.open("rb") as existing:
                    for chunk in iter(lambda: existing.read(CHUNK), b""):
                        digest.update(chunk)
            done = have
            progress(done, total, filename)
            try:
                with part.open("ab" if resuming else "wb") as out:
                    for chunk in _body(response):
                        if done == 0 and _is_html(chunk):
                            raise InstallError(f"not a model: {url} answered an HTML page, not a model file.")
                        _write(out, chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        progress(done, total, filename)
            except InstallError:
                _discard(part, meta_path)
                raise
            except _Cut as exc:
                last_error = f"the connection broke after {done} of {total or '?'} bytes ({exc})"
                time.sleep(RETRY_PAUSE * (attempt + 1))
                continue
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    _discard(part, meta_path)
                    raise InstallError(
                        f"disk full while writing {filename} into {staging.parent}: free some space and install again."
                    ) from None
                raise InstallError(f"cannot write {filename} into {staging}: {exc}.") from None
            if total is not None and done < total:
                last_error = f"the connection broke after {done} of {total} bytes"
                time.sleep(RETRY_PAUSE * (attempt + 1))
                continue
            sha = digest.hexdigest()
            if expected and sha != expected:
                _discard(part, meta_path)
                raise InstallError(f"checksum mismatch: expected sha256 {expected}, got {sha}; nothing installed.")
            return Fetched(part, filename, sha256=sha, size=done, extra=[meta_path])
    raise InstallError(f"{url}: {last_error}; run the same install again to resume (the part is kept in {STAGING}/).")


class _Cut(Exception):
    """The body stopped coming (connection reset or closed early, a read timeout)."""


def _body(response) -> Iterator[bytes]:
    """The response body as it arrives, at most CHUNK bytes at a time; every byte received before a
    cut is yielded (urllib3's ``read1``), then _Cut. A clean early close ends the iteration (the
    caller compares the count with the length)."""
    import http.client

    import urllib3

    raw = response.raw
    while True:
        try:
            chunk = raw.read1(CHUNK, decode_content=False)
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            raise _Cut(type(exc).__name__) from None
        if not chunk:
            return
        yield chunk


def _get_following(session, url: str, headers: dict, token: str):
    """GET with redirects followed by hand, so that every host on the way is checked."""
    current = url
    for _ in range(MAX_REDIRECTS):
        check_url_allowed(current)
        request_headers = dict(headers)
        host = urllib.parse.urlsplit(current).hostname or ""
        if token and (host == "huggingface.co" or host.endswith(".huggingface.co")):
            request_headers["Authorization"] = f"Bearer {token}"
        response = session.get(current, headers=request_headers, stream=True, allow_redirects=False, timeout=(15, 60))
        _check_peer(current, response)
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


def _write(out, chunk: bytes) -> None:
    """One chunk to the staging file (the OS boundary the disk-full test patches)."""
    out.write(chunk)


def _check_free_space(folder: Path, needed: int, what: str) -> None:
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise InstallError(f"disk full: {what} needs {needed} bytes, {free} are free in {folder.parent}; nothing installed.")


def _discard(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# --- local paths ---------------------------------------------------------------------------------


def _copy_local(path: Path, staging: Path, *, expected: str, progress: Progress) -> Fetched:
    """Copy a local file (hashing it as it goes) or folder into the staging folder."""
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    target = staging / f"{key}.local"
    Fetched(target, "").discard()
    try:
        if path.is_dir():
            total = sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
            _check_free_space(staging, total, str(path))
            progress(0, total, path.name)
            done = 0

            def copy(src: str, dst: str) -> None:
                nonlocal done
                shutil.copy2(src, dst)
                done += os.path.getsize(dst)
                progress(done, total, path.name)

            shutil.copytree(path, target, copy_function=copy, ignore=shutil.ignore_patterns(".source.json", ".cache"))
            return Fetched(target, path.name, size=total)
        total = path.stat().st_size
        _check_free_space(staging, total, str(path))
        digest = hashlib.sha256()
        done = 0
        progress(0, total, path.name)
        with path.open("rb") as source, target.open("wb") as out:
            for chunk in iter(lambda: source.read(CHUNK), b""):
                _write(out, chunk)
                digest.update(chunk)
                done += len(chunk)
                progress(done, total, path.name)
    except OSError as exc:
        Fetched(target, "").discard()
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InstallError(f"disk full while copying {path.name} into {staging.parent}: free some space and install again.") from None
        raise InstallError(f"cannot copy {path}: {exc}.") from None
    sha = digest.hexdigest()
    if expected and sha != expected:
        Fetched(target, "").discard()
        raise InstallError(f"checksum mismatch: expected sha256 {expected}, got {sha}; nothing installed.")
    return Fetched(target, path.name, sha256=sha, size=done)


# --- the Hugging Face Hub -----------------------------------------------------------------------


@contextlib.contextmanager
def hub_online() -> Iterator[None]:
    """Let huggingface_hub reach the network for this install's own calls.

    Settings set HF_HUB_OFFLINE=1 (GARDEN_HF_OFFLINE) so that nothing else ever downloads; the
    library reads it once, at import, into ``huggingface_hub.constants.HF_HUB_OFFLINE``, which its
    HTTP layer asks on every request (``constants.is_offline_mode()``). The install turns that flag
    off while it runs and back afterwards; it runs in a process of its own (the command) or a
    default-queue worker process that does not paint, so no diffusers load happens meanwhile.
    """
    from huggingface_hub import constants

    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = False
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


def _hub_endpoint() -> str | None:
    return os.environ.get("HF_ENDPOINT", "").rstrip("/") or None


def select_hub_files(files: dict[str, int], *, subfolder: str, variant: str, components: set[str] | None = None) -> list[str]:
    """The repo files an install takes (paths relative to the repo):

    - only those under ``subfolder``;
    - a diffusers pipeline (``model_index.json``): model_index.json, README.md and the folders of its
      components (``components``, read from model_index.json, when known: not an ONNX or spare VAE
      folder beside them), not the single-file checkpoints beside them;
    - weights: safetensors where a folder has them (not .bin/.msgpack/.h5/.onnx twins), and with
      ``variant`` (fp16) the ``*.fp16.*`` files where a folder has them, else the plain ones;
    - no pictures, no .gitattributes.
    """
    prefix = subfolder.strip("/") + "/" if subfolder.strip("/") else ""
    names = [path for path in files if path.startswith(prefix)]
    relative = {path[len(prefix) :]: path for path in names}
    if "model_index.json" in relative:
        # A pipeline's components live in sub-folders; files beside model_index.json other than the
        # README (which the scan reads) are single-file copies of the same model.
        relative = {
            rel: full
            for rel, full in relative.items()
            if ("/" in rel and (components is None or rel.split("/", 1)[0] in components)) or rel in ("model_index.json", "README.md")
        }
    chosen: list[str] = []
    by_folder: dict[str, list[str]] = {}
    for rel in relative:
        by_folder.setdefault(rel.rpartition("/")[0], []).append(rel)
    for rels in by_folder.values():
        weights = [rel for rel in rels if rel.endswith(HUB_WEIGHT_SUFFIXES)]
        others = [rel for rel in rels if rel not in weights and not rel.lower().endswith(HUB_SKIPPED_SUFFIXES)]
        safetensors = [rel for rel in weights if rel.endswith(".safetensors")]
        if safetensors:
            weights = safetensors
        tagged = [rel for rel in weights if variant and f".{variant}." in rel.rpartition("/")[2]]
        if variant and tagged:
            weights = tagged
        else:
            weights = [rel for rel in weights if not re.search(r"\.(fp16|bf16|fp32|ema|non_ema)\.", rel.rpartition("/")[2])] or weights
        chosen.extend(relative[rel] for rel in [*others, *weights])
    return sorted(chosen)


def _fetch_hub(repo_id: str, staging: Path, *, revision: str, subfolder: str, variant: str, progress: Progress) -> Fetched:
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    from tqdm.auto import tqdm as base_tqdm

    token = os.environ.get("HF_TOKEN") or None
    endpoint = _hub_endpoint()
    target = staging / f"hub-{repo_id.replace('/', '--')}"
    where = f"{repo_id}{':' + subfolder if subfolder else ''}{'@' + revision if revision else ''}"
    try:
        with hub_online():
            api = HfApi(endpoint=endpoint, token=token)
            info = api.model_info(repo_id, revision=revision or None, files_metadata=True)
            commit = info.sha or ""
            files = {sibling.rfilename: int(sibling.size or 0) for sibling in info.siblings or []}
            lfs_sha = {s.rfilename: (s.lfs.sha256 if s.lfs else "") for s in info.siblings or []}
            chosen = select_hub_files(files, subfolder=subfolder, variant=variant)
            index_path = (subfolder.strip("/") + "/" if subfolder.strip("/") else "") + "model_index.json"
            if index_path in chosen:
                # A pipeline: only the folders model_index.json names (its components).
                index_file = hf_hub_download(repo_id, index_path, revision=commit or None, local_dir=target, endpoint=endpoint, token=token)
                index = json.loads(Path(index_file).read_text())
                components = {
                    key for key, value in index.items() if not key.startswith("_") and isinstance(value, list) and value and value[0]
                }
                chosen = select_hub_files(files, subfolder=subfolder, variant=variant, components=components)
            if not chosen:
                raise InstallError(f"{where}: no model files there (subfolder {subfolder or '-'}, variant {variant or '-'}).")
            total = sum(files[path] for path in chosen)
            _check_free_space(staging, total, where)
            done_before = 0
            progress(0, total, repo_id)

            class Bar(base_tqdm):
                """hf_hub_download's per-file bar, summed into the install's progress."""

                def __init__(self, *args, **kwargs):
                    kwargs["disable"] = True
                    super().__init__(*args, **kwargs)
                    self._seen = int(kwargs.get("initial") or 0)
                    progress(done_before + self._seen, total, repo_id)

                def update(self, n=1):
                    self._seen += int(n or 0)
                    progress(done_before + self._seen, total, repo_id)

            for path in chosen:
                hf_hub_download(
                    repo_id,
                    path,
                    revision=commit or revision or None,
                    local_dir=target,
                    endpoint=endpoint,
                    token=token,
                    tqdm_class=Bar,
                )
                done_before += files[path]
                progress(done_before, total, repo_id)
    except InstallError:
        raise
    except (RepositoryNotFoundError, GatedRepoError) as exc:
        raise InstallError(
            f"{where}: repository not found or not accessible (a private or gated repo needs HF_TOKEN): {_first_line(exc)}"
        ) from None
    except RevisionNotFoundError as exc:
        raise InstallError(f"{where}: no such revision: {_first_line(exc)}") from None
    except (EntryNotFoundError, LocalEntryNotFoundError) as exc:
        raise InstallError(f"{where}: a file could not be fetched: {_first_line(exc)}") from None
    except HfHubHTTPError as exc:
        raise InstallError(f"{where}: the Hub answered an error: {_first_line(exc)}") from None
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            shutil.rmtree(target, ignore_errors=True)
            raise InstallError(f"disk full while downloading {where}: free some space and install again.") from None
        raise InstallError(f"{where}: {type(exc).__name__}: {exc}") from None
    except Exception as exc:  # httpx errors (connection refused, timeouts) and the like
        raise InstallError(f"{where}: {type(exc).__name__}: {_first_line(exc)}; run the same install again to resume.") from None
    prefix = subfolder.strip("/") + "/" if subfolder.strip("/") else ""
    base = target / prefix if prefix else target
    weights = [path for path in chosen if path.endswith(HUB_WEIGHT_SUFFIXES)]
    layout_files = [path for path in chosen if path.rpartition("/")[2] in ("model_index.json", "config.json")]
    if len(weights) == 1 and not layout_files:
        # A single-file repo (a LoRA, a VAE, a checkpoint): install that file alone, hashed and checked
        # against the Hub's own sha256 of it.
        only = target / weights[0]
        sha = _hash_file(only)
        expected = lfs_sha.get(weights[0], "")
        if expected and expected != sha:
            shutil.rmtree(target, ignore_errors=True)
            raise InstallError(f"{where}: {weights[0]} does not match the Hub's sha256 ({expected}); nothing installed.")
        loose = staging / f"hub-{hashlib.sha256(repo_id.encode()).hexdigest()[:12]}-{only.name}"
        os.replace(only, loose)
        shutil.rmtree(target, ignore_errors=True)
        return Fetched(loose, only.name, sha256=sha, size=loose.stat().st_size, revision=commit)
    # A folder: drop huggingface_hub's own bookkeeping; keep only the subfolder.
    shutil.rmtree(target / ".cache", ignore_errors=True)
    if prefix:
        moved = staging / f"{target.name}-sub"
        shutil.rmtree(moved, ignore_errors=True)
        os.replace(base, moved)
        shutil.rmtree(target, ignore_errors=True)
        target = moved
    folder_name = (subfolder.strip("/").rpartition("/")[2] if prefix else "") or repo_id.rpartition("/")[2]
    size = sum(item.stat().st_size for item in target.rglob("*") if item.is_file())
    return Fetched(target, folder_name, size=size, revision=commit)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- what it is ---------------------------------------------------------------------------------


def safetensors_keys(path: Path) -> list[str]:
    """The tensor names of a safetensors file, from its header alone; InstallError when the file is
    not one (no readable header, or tensors that do not fit the file: truncated)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise InstallError(f"not a model: {path.name} is {size} bytes, too short for a safetensors file.")
        (length,) = struct.unpack("<Q", head)
        if not 2 <= length <= min(100 << 20, size - 8):
            raise InstallError(f"not a model: {path.name} has no readable safetensors header.")
        raw = handle.read(length)
    try:
        header = json.loads(raw)
    except ValueError:
        raise InstallError(f"not a model: {path.name} has no readable safetensors header (not JSON).") from None
    if not isinstance(header, dict):
        raise InstallError(f"not a model: {path.name} has no readable safetensors header.")
    tensors = {key: value for key, value in header.items() if key != "__metadata__"}
    if not tensors:
        raise InstallError(f"not a model: {path.name} holds no tensors.")
    data = size - 8 - length
    for key, value in tensors.items():
        offsets = value.get("data_offsets") if isinstance(value, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and 0 <= offsets[0] <= offsets[1] <= data):
            raise InstallError(f"not a model: {path.name} is truncated or damaged (tensor {key} lies beyond its end).")
    return list(tensors)


def detect_file_kind(path: Path, filename: str) -> str:
    """install kind of one weights file, from its header (safetensors) or its name; InstallError when
    it is not a model file the library takes."""
    suffix = Path(filename).suffix.lower()
    with path.open("rb") as handle:
        first = handle.read(512)
    if _is_html(first):
        raise InstallError(f"not a model: {filename} is an HTML page.")
    if suffix in (".pt", ".bin"):
        raise InstallError(f"not a model the library reads: {filename} ({suffix}); the library takes .safetensors, .ckpt and .pth files.")
    if suffix in (".ckpt", ".pth"):
        if not (first.startswith(b"PK\x03\x04") or first[:1] == b"\x80"):
            raise InstallError(f"not a model: {filename} is neither a torch zip nor a pickle.")
        lowered = filename.lower()
        if "esrgan" in lowered or re.search(r"(^|[^0-9])[248]x", lowered):
            return "upscaler"
        return "vae" if ".vae." in lowered or lowered.endswith("vae" + suffix) else "checkpoint"
    if suffix not in (".safetensors", ""):
        raise InstallError(f"not a model: {filename} is not a {', '.join(LIBRARY_SUFFIXES)} file.")
    keys = safetensors_keys(path)
    if any(marker in key for key in keys for marker in LORA_MARKERS):
        return "lora"
    if any(key in EMBEDDING_KEYS or key.startswith("string_to_param") for key in keys) or len(keys) == 1:
        return "embedding"
    if any(key.startswith(CHECKPOINT_PREFIXES) for key in keys):
        return "checkpoint"
    if any(key.startswith(("encoder.", "first_stage_model.")) for key in keys) and any(
        key.startswith(("decoder.", "first_stage_model.decoder.")) for key in keys
    ):
        return "vae"
    if any(key.startswith(UPSCALER_PREFIXES) for key in keys):
        return "upscaler"
    return "checkpoint"


def detect_folder_kind(folder: Path) -> str:
    if (folder / "model_index.json").is_file():
        return "pipeline"
    config = folder / "config.json"
    if config.is_file():
        with contextlib.suppress(OSError, ValueError):
            if "Autoencoder" in str(json.loads(config.read_text()).get("_class_name", "")):
                return "vae"
    raise InstallError(f"not a model: the folder {folder.name} holds no model_index.json (a diffusers pipeline) or VAE config.json.")


# --- into place -----------------------------------------------------------------------------------


def _place(
    fetched: Fetched,
    root: Path,
    *,
    source: str,
    name: str,
    kind: str,
    revision: str,
    force: bool,
    rescan: bool,
    classes: str,
    input_size: str,
    color: str,
) -> Installed:
    is_file = fetched.is_file
    filename = fetched.filename
    settings_lines: list[str] = []
    if kind == "expression":
        if not is_file:
            raise InstallError("an expression model is one .onnx or .tflite file, not a folder.")
        suffix = Path(filename).suffix.lower()
        if suffix not in EXPRESSION_SUFFIXES:
            raise InstallError(f"not an expression model: {filename} is not an .onnx or .tflite file.")
    elif is_file:
        detected = detect_file_kind(fetched.path, filename)
        if not Path(filename).suffix:
            filename += ".safetensors"  # read as one above
        kind = kind or detected
        if kind == "pipeline":
            kind = "checkpoint"
    else:
        detected = detect_folder_kind(fetched.path)
        kind = kind if kind in ("vae",) else detected
    suffix = Path(filename).suffix if is_file else ""
    if name:
        final_name = name[: -len(suffix)] if suffix and name.endswith(suffix) else name
    else:  # from the file or folder: characters a name may not hold become "-"
        final_name = re.sub(r"[^\w .+@-]+", "-", Path(filename).stem if is_file else filename).strip(" .-")[:150]
    if not NAME.match(final_name) or final_name.startswith("."):
        raise InstallError(f"cannot name the entry {final_name!r}: give --name.")
    folder = root / KIND_FOLDERS[kind]
    destination = folder / (final_name + suffix if is_file else final_name)
    sidecar = destination.with_name(destination.name + ".source.json") if is_file else destination / ".source.json"
    if destination.exists() and not force:
        raise InstallError(f"{destination.relative_to(root).as_posix()} is already installed; --force replaces it.")
    if kind == "expression":
        settings_lines = _check_expression(fetched.path, destination, classes=classes, input_size=input_size, color=color)
    stat = fetched.path.stat()
    record: dict[str, Any] = {
        "source": source,
        "revision": revision or None,
        "sha256": fetched.sha256 if is_file else None,
        "size": stat.st_size if is_file else fetched.size,
        "mtime_ns": stat.st_mtime_ns,
        "installed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "kind": kind,
    }
    folder.mkdir(parents=True, exist_ok=True)
    staged_sidecar = fetched.path.with_name(fetched.path.name + ".source.json") if is_file else fetched.path / ".source.json"
    staged_sidecar.write_text(json.dumps(record, indent=2) + "\n")
    old = None
    try:
        if destination.exists():  # --force: the old one goes aside first, and away once the new one is in
            old = root / STAGING / f"replaced-{int(time.time())}-{destination.name}"
            os.replace(destination, old)
            with contextlib.suppress(FileNotFoundError):
                os.replace(sidecar, old.with_name(old.name + ".source.json"))
        os.replace(fetched.path, destination)
        if is_file:
            os.replace(staged_sidecar, sidecar)
    except OSError as exc:
        raise InstallError(f"cannot move the model into {folder}: {exc}.") from None
    finally:
        if old is not None:
            Fetched(old, "", extra=[old.with_name(old.name + ".source.json")]).discard()
        _discard(staged_sidecar)
    installed = Installed(
        destination,
        kind,
        source,
        revision=revision,
        sha256=fetched.sha256 if is_file else "",
        size=stat.st_size if is_file else fetched.size,
        settings_lines=settings_lines,
    )
    if kind == "expression" and classes:
        mapped = destination.with_name(destination.name + ".classes")
        mapped.write_text(settings_lines[1].partition("=")[2] + "\n")
    if rescan and kind != "expression":
        _rescan(installed, root)
    return installed


def _rescan(installed: Installed, root: Path) -> None:
    from generation.services import library

    try:
        result = library.scan()
    except (DomainError, DatabaseError) as exc:
        installed.scan_note = f"installed, but the rescan failed ({type(exc).__name__}: {exc}); run manage.py scan_models"
        return
    relative = installed.path.relative_to(root).as_posix()
    for entry in result.found:
        if entry.path == relative:
            installed.entry = entry
            if getattr(entry, "usable", True) is False:
                installed.scan_note = f"listed as not usable: {getattr(entry, 'unusable_reason', '')}"
            return
    for path, why in result.skipped:
        if path == relative or path.startswith(relative + "/"):
            installed.scan_note = f"the scan skipped it: {why}"
            return
    installed.scan_note = "the scan made no entry of it"


# --- expression models (docs/faces.md#installing-an-expression-model) --------------------------


def parse_classes(classes: str) -> list[str]:
    """The class map as ``name=LABEL`` entries in output order, from ``--classes``: the same text as
    GARDEN_EXPRESSION_CLASSES, or a file: JSON (a list of names, ``{"0": "anger", …}``, or
    ``{"anger": "ANGRY", …}`` in output order) or text (one name per line, or ``name=LABEL``). A bare
    name is mapped by its meaning (FER/AffectNet names: neutral → CALM, happiness → HAPPY, …; contempt
    is dropped); a name with no meaning must be mapped by hand."""
    from garden.faces.evaluation import label_of

    path = Path(classes).expanduser()
    if "=" not in classes and "," not in classes and path.is_file():
        text = path.read_text()
        if path.suffix.lower() == ".json":
            data = json.loads(text)
            if isinstance(data, dict) and all(str(key).isdigit() for key in data):
                names = [str(data[key]) for key in sorted(data, key=int)]
            elif isinstance(data, dict):
                names = [f"{key}={value}" for key, value in data.items()]
            elif isinstance(data, list):
                names = [str(item) for item in data]
            else:
                raise InstallError(f"{path.name}: expected a JSON list or object of class names.")
        else:
            names = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    else:
        names = [part.strip() for part in classes.split(",") if part.strip()]
    entries = []
    for item in names:
        if "=" in item:
            entries.append(item)
            continue
        label = "-" if item.strip().lower() == "contempt" else label_of(item) or label_of(item.rstrip("s"))
        if label is None:
            raise InstallError(f"class {item!r} maps to no expression the app knows; map it by hand: {item}=LABEL or {item}=-.")
        entries.append(f"{item}={label}")
    return entries


def _check_expression(path: Path, destination: Path, *, classes: str, input_size: str, color: str) -> list[str]:
    """Load the model as /emotion would (garden.faces.expression) and run it once; the settings to set."""
    from garden.faces import expression

    entries = parse_classes(classes)
    try:
        labels = expression._labels(entries)
        size = expression._size(input_size)
    except expression.ExpressionModelError as exc:
        raise InstallError(
            str(exc).replace("GARDEN_EXPRESSION_CLASSES", "--classes").replace("GARDEN_EXPRESSION_SIZE", "--input-size")
        ) from None
    if color not in expression.COLORS:
        raise InstallError(f"--color {color!r}: use grey, rgb or bgr.")
    staged = path.with_name(path.name + destination.suffix.lower())  # the runtimes choose by suffix
    try:
        os.link(path, staged)
    except OSError:
        shutil.copy2(path, staged)
    try:
        config = expression.ExpressionConfig(
            path=staged,
            mode=expression.REPLACE,
            weight=1.0,
            size=size,
            color=color,
            divisor=255.0,
            mean=(0.0,),
            std=(1.0,),
            labels=labels,
            output=expression.LOGITS,
            margin=1.1,
        )
        try:
            expression.ExpressionModel(config, threads=1)
        except expression.ExpressionModelError as exc:
            message = str(exc).replace(f"GARDEN_EXPRESSION_MODEL={staged.name!r}", destination.name).replace(staged.name, destination.name)
            raise InstallError(f"not a usable expression model: {message}") from None
    finally:
        _discard(staged)
    lines = [f"GARDEN_EXPRESSION_MODEL={destination}", f"GARDEN_EXPRESSION_CLASSES={','.join(entries)}"]
    if input_size:
        lines.append(f"GARDEN_EXPRESSION_SIZE={input_size}")
    if color:
        lines.append(f"GARDEN_EXPRESSION_COLOR={color}")
    return lines


# --- install status files (the admin's worker task) ---------------------------------------------


def status_path(install_id: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}", install_id):
        raise InstallError("unknown install")
    return Path(settings.GARDEN_MODELS_DIR).expanduser() / STAGING / f"install-{install_id}.json"


def read_status(install_id: str) -> dict | None:
    """What the worker last wrote of an install (state, bytes, message), None before it started."""
    try:
        return json.loads(status_path(install_id).read_text())
    except (OSError, ValueError):
        return None


def write_status(install_id: str, **status: Any) -> None:
    """Written by the worker into the staging folder, which web processes read (their mount may be
    read-only); replaced atomically, so a reader never sees half a file."""
    path = status_path(install_id)
    path.parent.mkdir(exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({**status, "updated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}))
    os.replace(temporary, path)


def recent_statuses(limit: int = 10) -> list[dict]:
    """The last installs the worker reported, newest first (for the admin's page)."""
    if not settings.GARDEN_MODELS_DIR:
        return []
    folder = Path(settings.GARDEN_MODELS_DIR).expanduser() / STAGING
    try:
        paths = sorted(folder.glob("install-*.json"), key=lambda path: path.stat().st_mtime, reverse=True)[:limit]
    except OSError:
        return []
    found = []
    now = dt.datetime.now(dt.UTC)
    for path in paths:
        with contextlib.suppress(OSError, ValueError):
            status = {"id": path.stem.removeprefix("install-"), **json.loads(path.read_text())}
            updated = dt.datetime.fromisoformat(status.get("updated_at", now.isoformat()))
            if status.get("state") == "running" and (now - updated).total_seconds() > STALLED_AFTER_SECONDS:
                # Reports come every second while bytes arrive: its worker is gone (or the network hangs).
                status["state"] = "stalled"
                status["message"] = "no report for minutes: its worker stopped; install it again to resume the download"
            found.append(status)
    return found


# --- the worker task's side (generation.tasks.install_model) -------------------------------------

INSTALL_TASK = "generation.tasks.install_model"
INSTALL_OPTIONS = ("name", "kind", "revision", "subfolder", "variant", "sha256", "force", "classes", "input_size", "color")
STATUS_EVERY_SECONDS = 1.0
STALLED_AFTER_SECONDS = 300


def resolve_starter(source: str, *, kind: str = "", name: str = "", variant: str = "") -> tuple[str, str, str, str]:
    """A starter model's name (generation.starter_models) → its source, kind, name and variant; any
    other source unchanged. What the caller gave wins over the starter's own."""
    from generation import starter_models

    starter = starter_models.get(source.strip())
    if starter is None:
        return source, kind, name, variant
    return starter.source, kind or starter.kind, name or starter.name, variant or starter.variant


def request_install(source: str, **options: Any) -> str:
    """Queue an install on a worker (the default queue, where the models folder is writable); its id.

    The worker reports progress into ``.incoming/install-<id>.json`` (read_status). The message is
    acknowledged when a worker takes it: an install cut by a lost worker is not run again by itself;
    installing the same source again resumes its download.
    """
    import uuid

    from celery import current_app

    unknown = set(options) - set(INSTALL_OPTIONS)
    if unknown:
        raise InstallError(f"unknown install options: {', '.join(sorted(unknown))}")
    if not source.strip():
        raise InstallError("Name what to install: a Hub repo id, a URL, a path on the worker, or a starter model.")
    install_id = uuid.uuid4().hex
    try:
        current_app.tasks[INSTALL_TASK].apply_async(args=[install_id, source.strip(), options], queue="default")
    except Exception as exc:  # the broker is down or unreachable
        raise InstallError(f"could not queue the install: {type(exc).__name__}: {exc}") from None
    return install_id


def run_install(install_id: str, source: str, options: dict) -> None:
    """The worker task's body: install, reporting progress and the outcome into the status file."""
    source, kind, name, variant = resolve_starter(
        source, kind=options.get("kind", ""), name=options.get("name", ""), variant=options.get("variant", "")
    )
    options = {**{key: value for key, value in options.items() if key in INSTALL_OPTIONS}, "kind": kind, "name": name, "variant": variant}
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    base = {"source": source, "started_at": started}
    last = [0.0]

    def report(done: int, total: int | None, what: str) -> None:
        now = time.monotonic()
        if now - last[0] >= STATUS_EVERY_SECONDS or (total is not None and done >= total):
            last[0] = now
            write_status(install_id, **base, state="running", done=done, total=total, what=what)

    write_status(install_id, **base, state="running", done=0, total=None, what="")
    try:
        installed = install(source, progress=report, **options)
    except InstallError as exc:
        write_status(install_id, **base, state="failed", message=str(exc))
        return
    except Exception as exc:
        write_status(install_id, **base, state="failed", message=f"{type(exc).__name__}: {exc}")
        raise
    entry = installed.entry
    message = f"installed {installed.kind} {installed.relative}"
    if installed.sha256:
        message += f", sha256 {installed.sha256}"
    write_status(
        install_id,
        **base,
        state="done",
        done=installed.size,
        total=installed.size,
        message=message,
        entry=getattr(entry, "name", ""),
        note=installed.scan_note,
        settings_lines=installed.settings_lines,
    )
