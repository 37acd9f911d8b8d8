"""A scan's summary (the library list's *Last scan*, the Rescan's news) names each file it skipped and why."""

from __future__ import annotations

import pytest

from library.services import entries as library_services
from library.services.entries import SKIPPED_NAMED

pytestmark = pytest.mark.django_db


def test_a_skipped_file_is_named_with_why(settings, tmp_path):
    settings.GARDEN_MODELS_DIR = str(tmp_path)
    (tmp_path / "notes.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")  # a header, no tensors
    summary = library_services.scan().summary()
    assert "skipped 1 file(s): notes.safetensors (" in summary  # today: "skipped 1 file(s)", no name


def test_many_skipped_files_are_named_up_to_a_few(settings, tmp_path):
    settings.GARDEN_MODELS_DIR = str(tmp_path)
    for n in range(SKIPPED_NAMED + 2):
        (tmp_path / f"junk-{n}.safetensors").write_bytes(b"not a header")
    summary = library_services.scan().summary()
    assert f"skipped {SKIPPED_NAMED + 2} file(s): junk-0.safetensors" in summary and "and 2 more" in summary
