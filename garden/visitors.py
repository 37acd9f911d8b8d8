"""Visitor ids as kiosks send them.

The original took any string as the visitor id (``X-user-id`` on /emotion, ``id`` in /garden,
/like and the other event calls; its own docs show ``"id": "1234567890"``), and old devices mint
their own. So an id is any string of 1 to 64 printable characters, stored and echoed exactly as
sent, and the same string always means the same visitor. JSON numbers are taken as their decimal
string; UUIDs in the usual 8-4-4-4-12 form are stored lower-case, so an upper-case UUID is still
the visitor it was before ids became strings. Booleans, null, objects and arrays are refused.
"""

from __future__ import annotations

import base64
import math
import re
import uuid

from django.utils.translation import gettext

from config.errors import DomainError

MAX_LENGTH = 64
NUMBER_LIMIT = 1e62  # a number's decimal string then fits MAX_LENGTH
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Printable: no control characters (C0, DEL, C1), which would corrupt logs, CSV exports and headers.
_PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f-\x9f]+$")
# The same rules as one pattern (the OpenAPI schema's): printable, no spaces at either end.
PATTERN = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$"


def segment_of(age_group: str | None, gender: str | None) -> str:
    """A visitor's segment, ``age group|gender`` lower-cased, or "" when neither is known (then
    only the everyone level applies). The one definition: stored on ``garden.Visitor.segment``,
    which the database statements read."""
    age_group, gender = (age_group or "").strip().lower(), (gender or "").strip().lower()
    return f"{age_group}|{gender}" if age_group or gender else ""


class InvalidVisitorId(DomainError):
    """Not a usable visitor id (a 400)."""


def new_visitor_id() -> str:
    """A fresh id for a visitor who brought none: a random UUIDv4, as before."""
    return str(uuid.uuid4())


def parse_visitor_id(value: object) -> str:
    """The stored form of a visitor id sent by a client, or InvalidVisitorId saying why not."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        raise InvalidVisitorId(gettext("The visitor id must be a string or a number."))
    if isinstance(value, int | float):
        if not math.isfinite(value) or abs(value) >= NUMBER_LIMIT:
            raise InvalidVisitorId(
                gettext("A numeric visitor id must be smaller than %(limit)s in size.") % {"limit": f"{NUMBER_LIMIT:.0e}"}
            )
        value = str(int(value)) if isinstance(value, int) or value.is_integer() else repr(value)
    if not isinstance(value, str):
        raise InvalidVisitorId(gettext("The visitor id must be a string or a number."))
    if not value or value != value.strip():
        raise InvalidVisitorId(gettext("The visitor id must not be empty or start or end with spaces."))
    if len(value) > MAX_LENGTH:
        raise InvalidVisitorId(gettext("The visitor id must be at most %(max)d characters.") % {"max": MAX_LENGTH})
    if not _PRINTABLE.match(value):
        raise InvalidVisitorId(gettext("The visitor id must not contain control characters."))
    return value.lower() if _UUID.match(value) else value


def visitor_code(visitor_id: str) -> str:
    """The short code a kiosk shows a visitor for a deletion request: ``ABCD-EFGH``.

    Derived from the id with a keyed hash (the site's secret key), so it tells nothing about the
    visitor and cannot be turned back into the id; staff find the id again by computing the code of
    every id the site keeps (``recommend.retention.visitor_ids_with_code``). 40 bits: two visitors
    share a code about once in a trillion pairs; a deletion then lists both ids to choose from.
    """
    from django.utils.crypto import salted_hmac

    digest = salted_hmac("garden.visitor-code", visitor_id, algorithm="sha256").digest()
    text = base64.b32encode(digest[:5]).decode()
    return f"{text[:4]}-{text[4:]}"


def normalize_code(text: str) -> str:
    """A code as a person may type it (lower case, spaces, no dash; 0 and 1 for O and I) → ``ABCD-EFGH``."""
    letters = re.sub(r"[^A-Z0-9]", "", text.upper()).replace("0", "O").replace("1", "I")
    if len(letters) != 8 or not re.fullmatch(r"[A-Z2-7]{8}", letters):
        raise InvalidVisitorId(gettext("A visitor code has 8 letters and digits, like ABCD-EFGH."))
    return f"{letters[:4]}-{letters[4:]}"
