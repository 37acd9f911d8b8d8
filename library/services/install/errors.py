"""The one error an install raises (every module of the install raises it, callers catch it)."""

from __future__ import annotations

from config.errors import DomainError


class InstallError(DomainError):
    """The model could not be installed; nothing was left in the library. The message says why."""
