"""Frame archives for batch retouching (retouch/frames.py): order, names, bombs."""

import io
import zipfile

import pytest
from PIL import Image

from retouch import frames


def zip_of(entries: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def png(color=(10, 20, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, "PNG")
    return buffer.getvalue()


def listed(content: bytes, **limits) -> list[str]:
    archive = frames.open_archive(content, what="frames archive")
    return [
        member.name for member in frames.list_members(archive, what="frames archive", **{"max_files": 50, "max_bytes": 10**7, **limits})
    ]


def test_frames_come_in_numeric_order_and_metadata_is_skipped():
    names = ["frame10.png", "frame2.png", "frame1.png", "clip/frame3.jpg", "__MACOSX/._frame1.png", ".DS_Store", "clip/"]
    entries = {name: png() for name in names if not name.endswith("/")}
    assert listed(zip_of(entries)) == ["frame1.png", "frame2.png", "frame3.jpg", "frame10.png"]


@pytest.mark.parametrize("name", ["../evil.png", "/etc/evil.png", "a/../../evil.png", "C:/evil.png", "a\\..\\evil.png"])
def test_paths_that_leave_the_archive_are_refused(name):
    with pytest.raises(frames.InvalidArchive, match="leaves the archive"):
        listed(zip_of({"ok.png": png(), name: png()}))


def test_not_a_zip_non_pictures_duplicates_and_empty_archives_are_refused():
    with pytest.raises(frames.InvalidArchive, match="not a zip"):
        frames.open_archive(b"PK\x03\x04 broken", what="frames archive")
    with pytest.raises(frames.InvalidArchive, match="not a PNG, JPEG or WebP"):
        listed(zip_of({"a.png": png(), "notes.txt": b"hello"}))
    with pytest.raises(frames.InvalidArchive, match="two pictures named"):
        listed(zip_of({"a/1.png": png(), "b/1.jpg": png()}))
    with pytest.raises(frames.InvalidArchive, match="no PNG"):
        listed(zip_of({".hidden.png": png()}))


def test_zip_bombs_and_too_many_frames_are_refused_as_too_large():
    bomb = zip_of({"bomb.png": b"\0" * 5_000_000})  # 5 MB of zeros pack into ~5 KB
    with pytest.raises(frames.InvalidArchive, match="expands suspiciously") as caught:
        listed(bomb)
    assert caught.value.too_large
    with pytest.raises(frames.InvalidArchive, match="GARDEN_RETOUCH_MAX_ZIP_BYTES"):
        listed(zip_of({f"{n}.png": png() for n in range(3)}, compression=zipfile.ZIP_STORED), max_bytes=200)
    with pytest.raises(frames.InvalidArchive, match="more than 2 pictures") as caught:
        listed(zip_of({f"{n}.png": png() for n in range(3)}), max_files=2)
    assert caught.value.too_large


def test_read_member_checks_its_size_and_range_selects_positions():
    content = zip_of({f"{n}.png": png() for n in range(1, 6)})
    archive = frames.open_archive(content, what="frames archive")
    members = frames.list_members(archive, what="frames archive", max_files=10, max_bytes=10**6)
    assert frames.read_member(archive, members[0], limit=10**6) == png()
    with pytest.raises(frames.InvalidArchive, match="more than 10 bytes"):
        frames.read_member(archive, members[0], limit=10)
    assert [(position, m.name) for position, m in frames.select(members, (2, 3))] == [(2, "2.png"), (3, "3.png")]
    masks = [frames.Member(path="m/2.PNG", name="2.PNG"), frames.Member(path="m/9.png", name="9.png")]
    assert frames.pair_masks(members, masks) == {"2.png": masks[0]}


def test_names_with_digits_that_are_not_numbers_still_sort():
    # "²" is a digit to str.isdigit() but int() refuses it: it sorts as text, the numbers as numbers.
    assert sorted(["f1²10.png", "f1²2.png", "f0.png"], key=frames.natural_key) == ["f0.png", "f1²2.png", "f1²10.png"]
