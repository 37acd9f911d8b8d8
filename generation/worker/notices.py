"""What a job page and the admin say about a job besides its status (``GenerationJob.notice``)."""

from __future__ import annotations

from django.conf import settings


def resumed_notice(what: str, *, attempts: int, detail: str = "") -> str:
    """``Worker lost (signal 9 (SIGKILL)); resumed (attempt 2 of 3).`` after ``attempts`` attempts ran."""
    because = f" ({detail.rstrip('.')})" if detail else ""
    return f"{what}{because}; resumed (attempt {attempts + 1} of {settings.GARDEN_JOB_MAX_ATTEMPTS})."[:500]
