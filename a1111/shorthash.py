"""A1111's ``sd_model_hash`` for every model kind: ``Processed.js()`` always gives a short string."""

from __future__ import annotations

import hashlib

from generation import served_names
from generation.models import GenerationJob
from library import selectors as library


def model_hash(job: GenerationJob) -> str:
    """A1111's ``sd_model_hash``, always a short string: the library's (a file's sha256, a folder's
    manifest's, first 10 hex), else a stable digest of the name painting it (a hub id, the demo painter)."""
    known = (job.options or {}).get("model_hash")
    if known:
        return str(known)
    entry = library.pipelines().filter(name=job.model).first() if job.model else None
    if entry is not None and (entry.short_hash or entry.content_sha256):
        return entry.short_hash or entry.content_sha256[:10]
    return name_hash(job.model or served_names.model_id(job.model_id))


def name_hash(name: str) -> str:
    """A model known only by its name (a hub id, the demo painter): a stable short digest of it."""
    return hashlib.sha256(name.encode()).hexdigest()[:10]
