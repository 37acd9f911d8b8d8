"""Export and import the garden: image files with their metadata, visitors and interactions.

The migration and sharing tool (another installation, another database engine, the old bucket);
not a backup, which is curation/backup.py (`manage.py backup`: the database and every object).

An export is a folder (or a .tar.gz of the same layout):

    manifest.json        format name, version, time, counts
    images.jsonl         one Image row per line (key, status, prompt, seed, hash…)
    visitors.jsonl       one Visitor per line
    interactions.jsonl   one Interaction per line (visitor id, item key, event, impression, time)
    files/<key>          the image file, byte for byte

Import reproduces keys, bytes and metadata in an empty database and storage and is idempotent:
rows and files already present with the same content are skipped. A plain folder laid out like
the old bucket (``emotions/…``, ``imgPool/…``) is imported too, deriving metadata from the keys.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from PIL import Image as PILImage

from garden import keys, visitor_services
from garden.models import Image, Visitor
from garden.services import StorageError, create_image, read_file, rewrite_image, sha256
from recommend import services as recommend_services
from recommend.models import Interaction

FORMAT = "emotion-garden-export"
VERSION = 1
IMAGE_FIELDS = (
    "key",
    "status",
    "emotion",
    "favorite",
    "orientation",
    "width",
    "height",
    "prompt",
    "negative_prompt",
    "seed",
    "generator",
    "model_id",
    "steps",
    "guidance",
    "byte_size",
    "content_hash",
    "kept",
    "created_at",
    "promoted_at",
    "rejected_at",
    # The image check's verdict travels with the picture (an older export has none: unchecked).
    "safety_verdict",
    "safety_score",
    "safety_checker",
    "safety_reason",
    "safety_released",
)
VISITOR_FIELDS = ("id", "age_low", "age_high", "age_group", "gender", "emotion", "features", "first_seen", "last_seen")
# The export file's names for visitor fields named otherwise in the model: the file format stays as it is.
VISITOR_NAMES_IN_FILE = {"age_group": "generation"}
DATETIME_FIELDS = {"created_at", "promoted_at", "rejected_at", "first_seen", "last_seen"}
Progress = Callable[[int], None]


class TransferError(ValueError):
    """The source is not an export or a legacy bucket tree, or it is damaged."""


@dataclass
class TransferReport:
    images_written: int = 0
    images_skipped: int = 0
    visitors_written: int = 0
    interactions_written: int = 0
    interactions_skipped: int = 0
    problems: list[str] = field(default_factory=list)


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if isinstance(value, uuid.UUID) else value


def _row(instance, fields) -> dict:
    return {name: _jsonable(getattr(instance, name)) for name in fields}


def _visitor_record(visitor: Visitor) -> dict:
    return {VISITOR_NAMES_IN_FILE.get(name, name): value for name, value in _row(visitor, VISITOR_FIELDS).items()}


# --- export -------------------------------------------------------------------------------------


class _FolderWriter:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, content: bytes) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    def close(self) -> None:
        pass


class _TarWriter:
    def __init__(self, path: Path):
        self.tar = tarfile.open(path, "w:gz")  # noqa: SIM115 (closed by close())

    def write(self, name: str, content: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime = len(content), int(timezone.now().timestamp())
        self.tar.addfile(info, io.BytesIO(content))

    def close(self) -> None:
        self.tar.close()


def is_archive(path: Path) -> bool:
    return path.name.endswith((".tar.gz", ".tgz", ".tar"))


def export_garden(*, destination: Path, progress: Progress = lambda n: None) -> dict[str, int]:
    """Write every image (file + metadata), visitor and interaction to a folder or archive."""
    writer = _TarWriter(destination) if is_archive(destination) else _FolderWriter(destination)
    counts = {"images": 0, "visitors": 0, "interactions": 0}
    try:
        lines = []
        for image in Image.objects.all_pictures().order_by("id").iterator(chunk_size=500):
            writer.write(f"files/{image.key}", _read_stored(image.key))
            lines.append(json.dumps(_row(image, IMAGE_FIELDS)))
            counts["images"] += 1
            progress(1)
        writer.write("images.jsonl", _jsonl(lines))
        visitors = [json.dumps(_visitor_record(v)) for v in Visitor.objects.order_by("first_seen", "id").iterator(chunk_size=2000)]
        writer.write("visitors.jsonl", _jsonl(visitors))
        counts["visitors"] = len(visitors)
        interactions = [
            json.dumps(
                {
                    "visitor_id": str(row.visitor_id),
                    "item_key": row.item_key,
                    "event_type": row.event_type,
                    "impression": row.impression,
                    "created_at": row.created_at.isoformat(),
                }
            )
            for row in Interaction.objects.order_by("created_at", "id").iterator(chunk_size=5000)
        ]
        writer.write("interactions.jsonl", _jsonl(interactions))
        counts["interactions"] = len(interactions)
        manifest = {"format": FORMAT, "version": VERSION, "exported_at": timezone.now().isoformat(), "counts": counts}
        writer.write("manifest.json", json.dumps(manifest, indent=2).encode())
    finally:
        writer.close()
    return counts


def _read_stored(key: str) -> bytes:
    """An image's file, or TransferError naming the key and the storage's complaint (S3 down, a missing file)."""
    try:
        return read_file(key)
    except Exception as exc:
        raise TransferError(f"could not read {key} from storage ({type(exc).__name__}: {exc}); the export is incomplete") from exc


def _jsonl(lines: list[str]) -> bytes:
    return ("\n".join(lines) + ("\n" if lines else "")).encode()


# --- import -------------------------------------------------------------------------------------


class _Source:
    """Read access to an export folder, an export archive, or a legacy bucket tree."""

    def __init__(self, path: Path):
        if not path.exists():
            raise TransferError(f"{path} does not exist")
        self.path = path
        self.tar = tarfile.open(path, "r:*") if path.is_file() else None  # noqa: SIM115 (closed by close())

    def read(self, name: str) -> bytes | None:
        if self.tar is not None:
            try:
                member = self.tar.extractfile(name)
            except KeyError:
                return None
            return member.read() if member else None
        target = self.path / name
        return target.read_bytes() if target.is_file() else None

    def names(self) -> Iterator[str]:
        if self.tar is not None:
            yield from (member.name for member in self.tar.getmembers() if member.isfile())
            return
        for folder, _, files in os.walk(self.path):
            for name in files:
                yield str((Path(folder) / name).relative_to(self.path)).replace(os.sep, "/")

    def close(self) -> None:
        if self.tar is not None:
            self.tar.close()


def import_garden(*, source: Path, progress: Progress = lambda n: None, total: Callable[[int], None] = lambda n: None) -> TransferReport:
    """Import an export (folder or archive) or a legacy bucket tree. Safe to run again."""
    reader = _Source(source)
    try:
        manifest = reader.read("manifest.json")
        if manifest is None:
            return _import_legacy_tree(reader, progress=progress, total=total)
        meta = json.loads(manifest)
        if meta.get("format") != FORMAT:
            raise TransferError(f"{source}: manifest.json is not an {FORMAT} manifest")
        if meta.get("version", 0) > VERSION:
            raise TransferError(f"{source}: export version {meta['version']} is newer than this app understands ({VERSION})")
        total(sum(meta.get("counts", {}).values()))
        report = TransferReport()
        _import_images(reader, report, progress)
        _import_visitors(reader, report, progress)
        _import_interactions(reader, report, progress)
        return report
    finally:
        reader.close()


def _records(reader: _Source, name: str) -> Iterator[dict]:
    content = reader.read(name) or b""
    for number, line in enumerate(content.decode().splitlines(), start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except ValueError as exc:
                raise TransferError(f"{name} line {number}: {exc}") from None


def _parse_fields(record: dict) -> dict:
    return {name: (parse_datetime(value) if name in DATETIME_FIELDS and value else value) for name, value in record.items()}


def _import_images(reader: _Source, report: TransferReport, progress: Progress) -> None:
    for record in _records(reader, "images.jsonl"):
        progress(1)
        metadata = _parse_fields({name: record.get(name) for name in IMAGE_FIELDS if name in record})
        key = metadata.pop("key")
        content = reader.read(f"files/{key}")
        if content is None:
            report.problems.append(f"{key}: file missing from the export")
            continue
        if sha256(content) != metadata.get("content_hash"):
            report.problems.append(f"{key}: file does not match its recorded hash; skipped")
            continue
        existing = Image.objects.with_key(key).first()
        if existing and existing.content_hash == metadata["content_hash"] and _stored_hash(key) == existing.content_hash:
            report.images_skipped += 1
            continue
        for derived in ("emotion", "favorite", "orientation", "byte_size", "content_hash"):
            metadata.pop(derived, None)  # derived from the key and the bytes
        _upsert_image(existing, key=key, content=content, metadata=metadata)
        report.images_written += 1


def _upsert_image(existing: Image | None, *, key: str, content: bytes, metadata: dict) -> None:
    """Create the image, or rewrite the file and row of an existing one in place (keeping its id)."""
    try:
        if existing is None:
            create_image(key=key, content=content, **metadata)
        else:
            rewrite_image(image=existing, content=content, **metadata)
    except StorageError as exc:  # storage down or read-only: every later image would fail the same way
        raise TransferError(
            f"{exc}; no row was recorded for {key}. Images before it were imported; run the import again once storage works "
            "(what is already there is skipped)."
        ) from exc


def _stored_hash(key: str) -> str | None:
    try:
        return sha256(read_file(key))
    except Exception:  # missing, or storage unreachable: treat as not stored (writing it then says why)
        return None


def _import_visitors(reader: _Source, report: TransferReport, progress: Progress) -> None:
    for record in _records(reader, "visitors.jsonl"):
        progress(1)
        in_file = {name: VISITOR_NAMES_IN_FILE.get(name, name) for name in VISITOR_FIELDS}
        fields = _parse_fields({name: record[file_name] for name, file_name in in_file.items() if file_name in record})
        visitor_services.import_visitor(visitor_id=fields.pop("id"), **fields)
        report.visitors_written += 1


def _import_interactions(reader: _Source, report: TransferReport, progress: Progress) -> None:
    # Interactions have no natural id across installations: (visitor, item, event, time) is one.
    seen = set(Interaction.objects.values_list("visitor_id", "item_key", "event_type", "created_at"))
    seen = {(str(visitor), key, event, when) for visitor, key, event, when in seen}
    images = dict(Image.objects.all_pictures().values_list("key", "id"))
    known_visitors = {str(pk) for pk in Visitor.objects.values_list("id", flat=True)}
    batch = []
    for record in _records(reader, "interactions.jsonl"):
        progress(1)
        created_at = parse_datetime(record["created_at"])
        identity = (record["visitor_id"], record["item_key"], record["event_type"], created_at)
        if identity in seen:
            report.interactions_skipped += 1
            continue
        if record["visitor_id"] not in known_visitors:
            visitor_services.ensure_visitor(record["visitor_id"])
            known_visitors.add(record["visitor_id"])
        seen.add(identity)
        batch.append(
            Interaction(
                visitor_id=record["visitor_id"],
                image_id=images.get(record["item_key"]),
                item_key=record["item_key"],
                event_type=record["event_type"],
                impression=record.get("impression") or [],
                created_at=created_at,
            )
        )
        if len(batch) >= 2000:
            report.interactions_written += recommend_services.import_interactions(batch)
            batch = []
    report.interactions_written += recommend_services.import_interactions(batch)


# --- legacy bucket trees ------------------------------------------------------------------------


def timestr_to_datetime(timestr: str) -> datetime | None:
    """`20230320-121242` or the old unpadded `20230319-23756` (H MM SS) → an aware datetime."""
    date_part, _, rest = timestr.partition("-")
    time_part = rest.split("-")[0]
    try:
        day = datetime.strptime(date_part, "%Y%m%d")
        clock = time_part.zfill(6)
        return day.replace(hour=int(clock[:2]), minute=int(clock[2:4]), second=int(clock[4:6]), tzinfo=UTC)
    except ValueError:
        return None


def _import_legacy_tree(reader: _Source, *, progress: Progress, total: Callable[[int], None]) -> TransferReport:
    report = TransferReport()
    names = sorted(name for name in reader.names() if name.startswith((f"{keys.POOL_PREFIX}/", f"{keys.SERVING_PREFIX}/")))
    if not names:
        raise TransferError(f"{reader.path}: neither an export (no manifest.json) nor a bucket tree (no emotions/ or imgPool/)")
    total(len(names))
    for name in names:
        progress(1)
        try:
            parsed = keys.parse_key(name)
        except keys.InvalidKey:
            report.problems.append(f"{name}: not a garden image key; skipped")
            continue
        content = reader.read(name)
        existing = Image.objects.with_key(name).first()
        if existing and existing.content_hash == sha256(content):
            report.images_skipped += 1
            continue
        try:
            with PILImage.open(io.BytesIO(content)) as picture:
                width, height = picture.size
        except Exception:
            report.problems.append(f"{name}: not a readable image; skipped")
            continue
        metadata = {
            "width": width,
            "height": height,
            "generator": "imported",
            "created_at": timestr_to_datetime(parsed.timestr) or timezone.now(),
            "promoted_at": timezone.now() if parsed.is_serving else None,
        }
        _upsert_image(existing, key=name, content=content, metadata=metadata)
        report.images_written += 1
    return report
