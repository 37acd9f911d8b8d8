"""The venue's model store (GARDEN_MODELS_STORE): every library file once, under its sha256.

Two kinds: an S3 bucket (``s3://bucket/prefix``, reached with the GARDEN_S3_* endpoint, region and
keys the images use: settings.S3_CONNECTION) and a folder every host mounts
(``file:///path``). An object's key is ``<prefix>/sha256/<hex>``.

- ``put`` hashes the file while it uploads (S3's multipart checksum is a checksum of the parts'
  checksums, not the file's): a file that changed under the upload is deleted from the store again.
- ``fetch`` reads an object with parallel ranged GETs (``If-Match`` its ETag, so a replaced object
  is never stitched from two versions) into a file the caller named, hashing the parts in order as
  they arrive; a hash that differs raises ``StoreCorrupt`` and the caller discards the file.

Errors: ``StoreUnavailable`` (the store cannot be reached now: try again later), ``StoreCorrupt``
(the bytes are not the file they claim to be), ``StoreMissing`` (no such object).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from django.conf import settings

from config.errors import DomainError

PART_BYTES = 16 * 1024 * 1024  # one ranged GET; a window of WINDOW of them is in flight
CHUNK_BYTES = 1024 * 1024  # what a part's reader holds at a time
CONCURRENCY = 10  # boto3's download_file default max_concurrency
WINDOW = 2 * CONCURRENCY
Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


class StoreError(DomainError):
    """The model store could not do what was asked."""


class StoreUnavailable(StoreError):
    """The store cannot be reached now (network, credentials, the server away): worth trying again."""


class StoreCorrupt(StoreError):
    """What was read or written is not the file its sha256 names."""


class StoreMissing(StoreError):
    """The store holds no object under that sha256."""


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int


class _HashingReader:
    """A file read front to back, hashed as it is read (boto3 reads an upload's parts in order from
    one thread); a read out of order marks the hash unusable rather than wrong."""

    def __init__(self, stream: BinaryIO, progress: Progress | None = None, size: int = 0) -> None:
        self.stream, self.digest, self.offset, self.in_order = stream, hashlib.sha256(), 0, True
        self.progress, self.size = progress, size

    def read(self, size: int = -1) -> bytes:
        if self.stream.tell() != self.offset:
            self.in_order = False
        data = self.stream.read(size)
        self.digest.update(data)
        self.offset = self.stream.tell()
        if self.progress is not None and data:
            self.progress(self.offset, self.size)  # may raise (a worker shutting down): boto3 then aborts the upload
        return data


class S3Store:
    def __init__(self, bucket: str, prefix: str) -> None:
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix.strip("/")
        connection = getattr(settings, "S3_CONNECTION", {}) or {}
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=connection.get("endpoint_url"),
            region_name=connection.get("region_name"),
            aws_access_key_id=connection.get("access_key"),
            aws_secret_access_key=connection.get("secret_key"),
            config=Config(max_pool_connections=WINDOW + 2, retries={"max_attempts": 3, "mode": "standard"}),
        )

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, sha256: str) -> str:
        return "/".join(filter(None, (self.prefix, "sha256", sha256)))

    def _call(self, method: str, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                raise StoreMissing(f"the model store {self} holds no {kwargs.get('Key', '')}") from None
            if code in ("412", "PreconditionFailed"):
                raise StoreCorrupt(f"{kwargs.get('Key', '')} changed in the model store while it was read") from None
            raise StoreUnavailable(f"the model store {self} refused {method}: {code or exc}") from None
        except BotoCoreError as exc:
            raise StoreUnavailable(f"the model store {self} cannot be reached: {exc}") from None

    def stat(self, sha256: str) -> Stored | None:
        try:
            head = self._call("head_object", Key=self.key(sha256))
        except StoreMissing:
            return None
        return Stored(sha256, int(head["ContentLength"]))

    def put(self, path: Path, sha256: str, progress: Progress | None = None) -> Stored:
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError

        size = path.stat().st_size
        with open(path, "rb") as stream:
            reader = _HashingReader(stream, progress, size)
            try:
                self.client.upload_fileobj(
                    reader,
                    self.bucket,
                    self.key(sha256),
                    ExtraArgs={"Metadata": {"sha256": sha256}},
                    Config=TransferConfig(multipart_threshold=64 * 1024 * 1024, multipart_chunksize=PART_BYTES),
                )
            except (BotoCoreError, ClientError) as exc:
                raise StoreUnavailable(f"the model store {self} cannot be reached: {exc}") from None
        actual = reader.digest.hexdigest() if reader.in_order else _sha256_of(path)
        if actual != sha256:
            self._call("delete_object", Key=self.key(sha256))
            raise StoreCorrupt(f"{path.name} changed while it was uploaded (sha256 {actual}, not {sha256}): removed from the store")
        return Stored(sha256, size)

    def fetch(self, sha256: str, target: Path, progress: Progress | None = None) -> None:
        head = self._call("head_object", Key=self.key(sha256))
        size, etag = int(head["ContentLength"]), head["ETag"]
        done, digest, buffer = 0, hashlib.sha256(), memoryview(bytearray(CHUNK_BYTES))
        with open(target, "wb") as out, open(target, "rb") as written:
            out.truncate(size)
            fd = out.fileno()

            def part(start: int) -> int:
                end = min(start + PART_BYTES, size) - 1
                body = self._call("get_object", Key=self.key(sha256), Range=f"bytes={start}-{end}", IfMatch=etag)["Body"]
                offset = start
                # Written as it comes, 1 MiB at a time: a 16 MiB buffer per part is above malloc's mmap
                # threshold, so every part's pages were faulted in afresh (a first 2 GB fetch took 2x).
                for chunk in body.iter_chunks(CHUNK_BYTES):
                    os.pwrite(fd, chunk, offset)
                    offset += len(chunk)
                if offset != end + 1:
                    raise StoreUnavailable(f"the model store {self} sent {offset - start} bytes for a part of {end - start + 1}")
                return offset - start

            starts = list(range(0, size, PART_BYTES))
            with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="model-fetch") as pool:
                pending = [pool.submit(part, start) for start in starts[:WINDOW]]
                following = iter(starts[WINDOW:])
                while pending:  # in order: each part is hashed (read back from the page cache) once those before it are
                    length = pending.pop(0).result()
                    _hash_next(written, digest, length, buffer)
                    done += length
                    nxt = next(following, None)
                    if nxt is not None:
                        pending.append(pool.submit(part, nxt))
                    if progress is not None:
                        progress(done, size)
            out.flush()
            os.fsync(fd)
        if digest.hexdigest() != sha256:
            raise StoreCorrupt(f"the model store's {self.key(sha256)} is not that file (its sha256 is {digest.hexdigest()})")


def _hash_next(stream: BinaryIO, digest, length: int, buffer: memoryview) -> None:
    """The next ``length`` bytes of ``stream`` into ``digest``, through one reused buffer."""
    while length:
        read = stream.readinto(buffer[: min(length, len(buffer))])
        if not read:
            raise StoreUnavailable("the model's file ended before its parts did")
        digest.update(buffer[:read])
        length -= read


class FolderStore:
    """A folder every host mounts (NFS, SMB, a shared disk) holding ``sha256/<hex>``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __str__(self) -> str:
        return f"file://{self.root}"

    def _path(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256

    def _reachable(self) -> None:
        if not self.root.is_dir():
            raise StoreUnavailable(f"the model store {self} is not a folder here (not mounted?)")

    def stat(self, sha256: str) -> Stored | None:
        self._reachable()
        try:
            return Stored(sha256, self._path(sha256).stat().st_size)
        except FileNotFoundError:
            return None

    def put(self, path: Path, sha256: str, progress: Progress | None = None) -> Stored:
        self._reachable()
        target = self._path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{sha256}.{os.getpid()}.{uuid.uuid4().hex}.incomplete")
        try:
            _copy_hashed(path, temporary, sha256, progress)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        return Stored(sha256, target.stat().st_size)

    def fetch(self, sha256: str, target: Path, progress: Progress | None = None) -> None:
        self._reachable()
        source = self._path(sha256)
        if not source.is_file():
            raise StoreMissing(f"the model store {self} holds no sha256/{sha256}")
        _copy_hashed(source, target, sha256, progress)


def _copy_hashed(source: Path, target: Path, sha256: str, progress: Progress | None) -> None:
    size, done, digest = source.stat().st_size, 0, hashlib.sha256()
    with open(source, "rb") as src, open(target, "wb") as out:
        while chunk := src.read(PART_BYTES):
            digest.update(chunk)
            out.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, size)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != sha256:
        raise StoreCorrupt(f"{source} is not the file its name says (its sha256 is {digest.hexdigest()})")


def _sha256_of(path: Path) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def parse(address: str) -> S3Store | FolderStore:
    """The store an address names: ``s3://bucket/prefix`` or ``file:///path``."""
    parsed = urlparse(address)
    if parsed.scheme == "s3" and parsed.netloc:
        return S3Store(parsed.netloc, parsed.path)
    if parsed.scheme == "file":
        return FolderStore(Path(unquote(parsed.path)))
    raise StoreError(f"GARDEN_MODELS_STORE must be s3://bucket/prefix or file:///path, not {address!r}")


_stores: dict[str, S3Store | FolderStore] = {}


def get() -> S3Store | FolderStore | None:
    """This process's store, None when GARDEN_MODELS_STORE is empty (the one-folder library)."""
    address = settings.GARDEN_MODELS_STORE
    if not address:
        return None
    # boto3 clients are not shared across a fork; a changed connection (tests) makes a new one.
    key = f"{os.getpid()}:{address}:{sorted((getattr(settings, 'S3_CONNECTION', {}) or {}).items())}"
    if key not in _stores:
        _stores[key] = parse(address)
    return _stores[key]


def enabled() -> bool:
    return bool(settings.GARDEN_MODELS_STORE)


__all__ = ["FolderStore", "S3Store", "StoreCorrupt", "StoreError", "StoreMissing", "StoreUnavailable", "Stored", "get"]
