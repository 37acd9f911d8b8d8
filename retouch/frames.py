"""Zip archives of frames (and of their masks) for batch retouching, read defensively.

Frames are ordered by the numbers in their names (``frame2`` before ``frame10``), as video tools
number them. Archives are checked before anything is stored: no names that leave the archive, no
more files than GARDEN_RETOUCH_MAX_FRAMES, no more unpacked bytes than GARDEN_RETOUCH_MAX_ZIP_BYTES,
no member that expands suspiciously (a zip bomb), no encrypted or duplicated names.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
# Pictures barely compress; a member unpacking to over 200x its packed size is a bomb, not a frame.
MAX_EXPANSION = 200
_DRIVE = re.compile(r"^[A-Za-z]:")


class InvalidArchive(ValueError):
    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.too_large = too_large


@dataclass(frozen=True)
class Member:
    path: str  # inside the archive
    name: str  # the file name results keep

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem


def natural_key(name: str) -> list:
    return [(0, int(part), "") if part.isdecimal() else (1, 0, part.lower()) for part in re.split(r"(\d+)", name) if part]


def open_archive(content: bytes, *, what: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise InvalidArchive(f"The {what} is not a zip archive.") from None


def list_members(archive: zipfile.ZipFile, *, what: str, max_files: int, max_bytes: int) -> list[Member]:
    """The archive's pictures in numeric order, after every safety check."""
    members: list[Member] = []
    unpacked = 0
    for info in archive.infolist():
        path = info.filename
        if "\x00" in path or "\\" in path or path.startswith("/") or _DRIVE.match(path) or ".." in PurePosixPath(path).parts:
            raise InvalidArchive(f"The {what} holds a path that leaves the archive: {path!r}.")
        name = PurePosixPath(path).name
        if info.is_dir() or path.startswith("__MACOSX/") or name.startswith("."):
            continue  # folders and the metadata some archivers add
        if info.flag_bits & 0x1:
            raise InvalidArchive(f"The {what} holds an encrypted file: {path!r}.")
        if not name.lower().endswith(IMAGE_SUFFIXES):
            raise InvalidArchive(f"The {what} holds {path!r}, which is not a PNG, JPEG or WebP picture.")
        unpacked += info.file_size
        if info.file_size > MAX_EXPANSION * max(info.compress_size, 1) + 1024 or unpacked > max_bytes:
            raise InvalidArchive(
                f"The {what} unpacks to more than GARDEN_RETOUCH_MAX_ZIP_BYTES ({max_bytes} bytes) or expands suspiciously.", too_large=True
            )
        members.append(Member(path=path, name=name))
        if len(members) > max_files:
            raise InvalidArchive(f"The {what} holds more than {max_files} pictures (GARDEN_RETOUCH_MAX_FRAMES).", too_large=True)
    if not members:
        raise InvalidArchive(f"The {what} holds no PNG, JPEG or WebP picture.")
    seen: dict[str, str] = {}
    for member in members:
        if member.stem.lower() in seen:
            raise InvalidArchive(f"The {what} holds two pictures named {member.stem!r} ({seen[member.stem.lower()]!r}, {member.path!r}).")
        seen[member.stem.lower()] = member.path
    return sorted(members, key=lambda member: natural_key(member.name))


def read_member(archive: zipfile.ZipFile, member: Member, *, limit: int) -> bytes:
    """A member's bytes; its CRC is checked, and it may not unpack past ``limit``."""
    try:
        with archive.open(member.path) as handle:
            content = handle.read(limit + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError) as exc:
        raise InvalidArchive(f"{member.path!r} could not be unpacked: {exc}") from None
    if len(content) > limit:
        raise InvalidArchive(f"{member.path!r} unpacks to more than {limit} bytes.", too_large=True)
    return content


def select(members: list[Member], frame_range: tuple[int, int] | None) -> list[tuple[int, Member]]:
    """(position, member) of the frames to retouch: ``frame_range`` is 1-based and inclusive."""
    numbered = list(enumerate(members, start=1))
    if frame_range is None:
        return numbered
    first, last = frame_range
    return [(position, member) for position, member in numbered if first <= position <= last]


def pair_masks(frames: list[Member], masks: list[Member]) -> dict[str, Member]:
    """Each frame's mask, matched by file name without extension (``0001.jpg`` ↔ ``0001.png``)."""
    by_stem = {mask.stem.lower(): mask for mask in masks}
    return {frame.name: by_stem[frame.stem.lower()] for frame in frames if frame.stem.lower() in by_stem}
