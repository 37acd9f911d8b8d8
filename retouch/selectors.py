"""Read-only queries of retouch jobs (a generation job and its RetouchJob)."""

from __future__ import annotations

from pathlib import PurePosixPath

from garden.keys import parse_key
from generation.models import GenerationJob
from retouch.models import RetouchKind


def retouch_archive_entries(job: GenerationJob) -> list[tuple[str, str]]:
    """(name in the zip, storage key) of a retouch job's results, in frame order.

    Frames keep their file names (as PNG: ``0007.jpg`` → ``0007.png``); single retouches are
    ``retouch-<n>.png``. Only results that exist are listed (a running batch gives what it has).
    """
    by_index = {parse_key(image.key).index: image.key for image in job.images.all()}
    if job.kind == RetouchKind.BATCH:
        names = [(position, f"{PurePosixPath(name).stem}.png") for position, name in job.retouch_job.options.get("frames", [])]
    else:
        names = [(index, f"retouch-{index}.png") for index in range(job.count)]
    return [(name, by_index[index]) for index, name in names if index in by_index]
