"""A full backup of an installation, and its restore: the database and every stored object.

Not ``export_garden`` (curation/transfer.py), which moves images, visitors and interactions between
installations: a backup is everything — users and groups, jobs, the admin log, display zones,
served gardens, counters, insights rollups — and restores the same installation. One archive
(a tar; gzip-compressed when its name ends in .tar.gz or .tgz):

    database/postgresql.dump   pg_dump -Fc (or database/sqlite3.db: SQLite's online backup)
    storage/default/<key>      every object of the image storage: images, thumbnails, display slots
    storage/retouch/<key>      the private retouch uploads (the jobs in the database refer to them)
    manifest.json              format, app version, time, database engine and version, migrations
                               per app, row counts per model, size and sha256 of every file

Restore checks the whole archive (format, migrations, every sha256) before it changes anything,
refuses a database that has data unless forced and an archive whose migrations this code does
not have, then writes every object back byte for byte and last replaces the database in one
transaction: a restore that stops half way leaves the previous database (and says so), and
running it again finishes it (objects already in place are skipped).
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core.files.storage import Storage, storages
from django.utils import timezone

from config import caches
from config.version import app_version
from curation import backup_db
from curation.backup_db import BackupError
from garden.services import write_file

FORMAT = "emotion-garden-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Retouch first: when both storages share a bucket, its objects are not listed again under default.
STORAGE_ALIASES = ("retouch", "default")
CHUNK = 1024 * 1024
Say = Callable[[str], None]
Advance = Callable[[int], None]


@dataclass
class RestoreReport:
    files: int = 0
    bytes: int = 0
    extra_objects: int = 0  # in storage but not in the archive (left in place)
    unapplied: list[str] = field(default_factory=list)  # this code's migrations the archive lacks
    counts: dict[str, int] = field(default_factory=dict)


def _quiet(_: Any) -> None:
    pass


# --- storage objects ------------------------------------------------------------------------------


def storage_keys(storage: Storage) -> Iterator[str]:
    """Every object's key in a storage (S3: one listing of its prefix; local: a walk of its folder)."""
    if hasattr(storage, "bucket_name"):
        prefix = storage.location.strip("/")  # type: ignore[attr-defined]
        prefix = f"{prefix}/" if prefix else ""
        for item in storage.bucket.objects.filter(Prefix=prefix):  # type: ignore[attr-defined]
            if not item.key.endswith("/"):
                yield item.key[len(prefix) :]
        return
    root = Path(storage.location)  # type: ignore[attr-defined]
    if root.is_dir():
        for folder, _, names in os.walk(root):
            for name in sorted(names):
                yield (Path(folder) / name).relative_to(root).as_posix()


def _where(storage: Storage, key: str) -> tuple:
    """Where an object physically lives, so an object two storages share is archived once."""
    if hasattr(storage, "bucket_name"):
        client = storage.connection.meta.client  # type: ignore[attr-defined]
        return ("s3", client.meta.endpoint_url, storage.bucket_name, storage._normalize_name(key))  # type: ignore[attr-defined]
    return ("file", os.path.realpath(storage.path(key)))


class _Hashing:
    """A read-only stream that hashes what passes through it."""

    def __init__(self, raw: IO[bytes]):
        self.raw, self.digest, self.size = raw, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


# --- backup ---------------------------------------------------------------------------------------


def create_backup(*, destination: Path, say: Say = _quiet, advance: Advance = _quiet, total: Advance = _quiet) -> dict:
    """Write the archive; returns its manifest. The database is dumped first, then storage is listed,
    so every file a dumped row names is in the archive (stop purges while it runs)."""
    if destination.exists():
        raise BackupError(f"{destination} exists; choose a new file name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    compress = destination.name.endswith((".tar.gz", ".tgz"))
    started = time.monotonic()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": app_version(),
        "created_at": timezone.now().isoformat(),
        "files": [],
    }
    try:
        with tarfile.open(partial, "w:gz" if compress else "w") as archive, tempfile.TemporaryDirectory(prefix="garden-backup-") as scratch:
            say(f"Database: dumping {backup_db.vendor()} {backup_db.server_version()} …")
            dump_path = Path(scratch) / "dump"
            recorded = backup_db.dump(dump_path)
            manifest["migrations"], manifest["counts"] = recorded["migrations"], recorded["counts"]
            with dump_path.open("rb") as handle:
                manifest["database"] = {
                    "vendor": backup_db.vendor(),
                    "server_version": backup_db.server_version(),
                    "tables": recorded["tables"],
                    **_add(archive, backup_db.dump_name(), handle, dump_path.stat().st_size),
                }
            say(f"Database: {sum(manifest['counts'].values())} rows, dump {_size(manifest['database']['size'])}")
            _add_storages(archive, manifest, say=say, advance=advance, total=total)
            content = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(content), int(time.time())
            archive.addfile(info, _BytesReader(content))
        partial.replace(destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    say(f"Backup written to {destination} ({_size(destination.stat().st_size)}, {time.monotonic() - started:.1f} s)")
    return manifest


def _add_storages(archive: tarfile.TarFile, manifest: dict, *, say: Say, advance: Advance, total: Advance) -> None:
    seen: set[tuple] = set()
    listed: dict[str, list[str]] = {}
    for alias in STORAGE_ALIASES:
        storage = storages[alias]
        keys = []
        for key in storage_keys(storage):
            where = _where(storage, key)
            if where not in seen:
                seen.add(where)
                keys.append(key)
        listed[alias] = keys
        say(f"Storage {alias}: {len(keys)} objects")
    total(sum(len(keys) for keys in listed.values()))
    for alias, keys in listed.items():
        storage = storages[alias]
        for key in keys:
            try:
                size = storage.size(key)
                with storage.open(key, "rb") as handle:
                    entry = _add(archive, f"storage/{alias}/{key}", handle, size)
            except FileNotFoundError:
                continue  # deleted since it was listed
            except Exception as exc:
                raise BackupError(f"could not read {key} from the {alias} storage: {type(exc).__name__}: {exc}") from exc
            manifest["files"].append({"storage": alias, "key": key, **entry})
            advance(1)


def _add(archive: tarfile.TarFile, name: str, handle: IO[bytes], size: int) -> dict:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = size, int(time.time())
    reader = _Hashing(handle)
    archive.addfile(info, reader)
    if reader.size != size:
        raise BackupError(f"{name} changed while it was archived ({size} bytes expected, {reader.size} read)")
    return {"name": name, "size": size, "sha256": reader.digest.hexdigest()}


class _BytesReader:
    def __init__(self, content: bytes):
        self.content, self.offset = content, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.content) if size < 0 else self.offset + size
        data, self.offset = self.content[self.offset : end], min(end, len(self.content))
        return data


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


# --- restore --------------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict:
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    try:
        with tarfile.open(source, "r:*") as archive:
            member = archive.extractfile(MANIFEST)
            manifest = json.loads(member.read()) if member else None
    except (tarfile.TarError, KeyError, ValueError, OSError) as exc:
        raise BackupError(f"{source} is not a backup archive ({type(exc).__name__}: {exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: {MANIFEST} is not an {FORMAT} manifest (an export_garden export is restored with import_garden)")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise BackupError(f"{source}: backup format {manifest['format_version']} is newer than this app reads ({FORMAT_VERSION})")
    return manifest


def check_restorable(manifest: dict, *, force: bool) -> None:
    """Refuse an archive from another engine, one ahead of the code, or a database with data (unless forced)."""
    database = manifest.get("database") or {}
    if database.get("vendor") != backup_db.vendor():
        raise BackupError(
            f"The backup holds a {database.get('vendor')} database; this installation uses {backup_db.vendor()}. "
            "Use export_garden / import_garden to move between engines."
        )
    ahead = backup_db.unknown_migrations(manifest.get("migrations") or {})
    if ahead:
        raise BackupError(
            f"The backup was made by a newer version ({manifest.get('app_version')}, this is {app_version()}): "
            f"this code lacks the migrations {', '.join(ahead[:8])}{' …' if len(ahead) > 8 else ''}. Restore it with that version."
        )
    busy = backup_db.tables_with_data()
    if busy and not force:
        raise BackupError(
            f"The database has data ({', '.join(busy[:6])}{' …' if len(busy) > 6 else ''}); a restore replaces all of it. "
            "Restore into an empty database, or pass --force to replace it."
        )


def verify_archive(source: Path, manifest: dict, *, say: Say = _quiet, advance: Advance = _quiet) -> None:
    """Every file the manifest lists is in the archive with its size and sha256."""
    expected = {entry["name"]: entry for entry in [manifest["database"], *manifest["files"]]}
    found = set()
    with tarfile.open(source, "r:*") as archive:
        for member in archive:
            entry = expected.get(member.name)
            if entry is None or not member.isfile():
                continue
            handle = archive.extractfile(member)
            reader = _Hashing(handle)  # type: ignore[arg-type]
            while reader.read(CHUNK):
                pass
            if (reader.size, reader.digest.hexdigest()) != (entry["size"], entry["sha256"]):
                raise BackupError(f"{source}: {member.name} is damaged (size or sha256 differs from the manifest); nothing was changed")
            found.add(member.name)
            advance(1)
    missing = sorted(set(expected) - found)
    if missing:
        raise BackupError(f"{source}: {len(missing)} files of the manifest are missing, e.g. {missing[0]}; nothing was changed")
    say(f"Archive verified: {len(found)} files, sha256 of each matches")


def restore_backup(
    *, source: Path, force: bool = False, say: Say = _quiet, advance: Advance = _quiet, total: Advance = _quiet
) -> RestoreReport:
    manifest = read_manifest(source)
    say(f"Backup of {manifest.get('created_at')} by version {manifest.get('app_version')}: {len(manifest['files'])} files")
    check_restorable(manifest, force=force)
    total(1 + 2 * len(manifest["files"]))
    verify_archive(source, manifest, say=say, advance=advance)
    report = RestoreReport()
    files = {entry["name"]: entry for entry in manifest["files"]}
    with tarfile.open(source, "r:*") as archive, tempfile.TemporaryDirectory(prefix="garden-restore-") as scratch:
        # Objects first, the database last in one transaction: until it commits the installation is
        # the previous one (whose keys still hold files), so an interrupted restore leaves it usable.
        dump_path = Path(scratch) / "dump"
        for member in archive:
            if member.name == manifest["database"]["name"]:
                with archive.extractfile(member) as handle, dump_path.open("wb") as out:  # type: ignore[union-attr]
                    while chunk := handle.read(CHUNK):
                        out.write(chunk)
            elif member.name in files:
                entry = files[member.name]
                try:
                    written = _write_object(storages[entry["storage"]], entry, archive.extractfile(member))  # type: ignore[arg-type]
                except BackupError as exc:
                    raise BackupError(
                        f"{exc}. The database was not changed: the installation is as before the restore, with "
                        f"{report.files} of the archive's {len(files)} objects written over it. Run the restore again to finish it."
                    ) from exc
                report.files += 1
                report.bytes += entry["size"] if written else 0
                advance(1)
        say(f"Storage: {report.files} objects in place ({_size(report.bytes)} written; the others were already there)")
        say(f"Database: restoring {manifest['database']['vendor']} ({_size(manifest['database']['size'])}) …")
        try:
            backup_db.restore(dump_path, archived_tables=manifest["database"].get("tables", []))
        except BackupError as exc:
            raise BackupError(
                f"{exc}. The database restore is one transaction: the database is as before. The archive's objects are "
                "in storage; run the restore again to finish it."
            ) from exc
        say("Database restored")
    caches.clear_shared()  # rendered gardens, candidates and change tokens of the replaced data
    say("Cache cleared")
    report.counts = backup_db.row_counts()
    wrong = {label: (count, report.counts.get(label)) for label, count in manifest["counts"].items() if report.counts.get(label) != count}
    if wrong:
        raise BackupError(f"Row counts differ from the backup after the restore: {wrong}")
    archived = {(entry["storage"], entry["key"]) for entry in manifest["files"]}
    report.extra_objects = sum(1 for alias in STORAGE_ALIASES for key in storage_keys(storages[alias]) if (alias, key) not in archived)
    report.unapplied = backup_db.unapplied_migrations(manifest.get("migrations") or {})
    return report


def _write_object(storage: Storage, entry: dict, handle: IO[bytes]) -> bool:
    """Put an object at exactly its key, replacing what is there in one step (never a delete first,
    garden.services.write_file); False when the same bytes are there already (a re-run restore)."""
    content = handle.read()
    key = entry["key"]
    try:
        if storage.exists(key) and storage.size(key) == entry["size"]:
            with storage.open(key, "rb") as current:
                if hashlib.sha256(current.read()).hexdigest() == entry["sha256"]:
                    return False
        write_file(key=key, content=content, storage=storage)
    except Exception as exc:
        raise BackupError(f"could not write {key}: {type(exc).__name__}: {exc}") from exc
    return True
