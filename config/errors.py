"""The base of every domain error: services raise these, the API maps them in one place.

A domain error carries what a client should see: a message, the HTTP status it deserves and,
for invalid input, messages per field. ``config.api.exception_handler`` turns any of them into
a DRF response, so views never catch and translate errors one by one; commands and the admin
show ``str(error)``.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext


class DomainError(Exception):
    """A rule of the domain refused the request. Subclasses set ``status_code``."""

    status_code = 400
    retry_after: int | None = None  # seconds; a Retry-After header when set (503s)
    # An expected state rather than a fault (a feature this site does not run): its 5xx is not
    # logged as a server error on every request (config.api.exception_handler).
    expected = False

    def __init__(self, message: str = "", *, fields: dict[str, str] | None = None) -> None:
        self.fields = dict(fields or {})
        if not message and self.fields:
            message = "; ".join(f"{name}: {text}" for name, text in self.fields.items())
        self.message = message or self.__class__.__doc__ or self.__class__.__name__
        super().__init__(self.message)

    def as_body(self) -> dict:
        """The JSON body: DRF's shapes, ``{"field": ["message"]}`` for fields, else ``{"detail": …}``."""
        if self.fields:
            return {name: [text] for name, text in self.fields.items()}
        return {"detail": self.message}


class NotFound(DomainError):
    """Nothing of that name exists."""

    status_code = 404


class Conflict(DomainError):
    """The object is not in a state that allows this change."""

    status_code = 409


class Unavailable(DomainError):
    """A backend this request needs is down or not configured; not the client's fault."""

    status_code = 503


class DatabaseUnavailable(Unavailable):
    """The database is unavailable; try again shortly."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or gettext("The database is unavailable; try again shortly."))
        self.retry_after = settings.GARDEN_DATABASE_RETRY_AFTER_SECONDS
