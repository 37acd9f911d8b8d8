"""Prompt screening: every text that reaches a generator is looked at before a job is queued.

``generation.requests.JobRequest.validate`` screens each job's texts (so the job API, the bulk
form, /text2image, the A1111 API, retouch tags and the gardener's bred prompts are all covered);
the gardener's word bank screens a word when a curator saves it. A refused text is a field error
that names the category and the term (docs/safety.md).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext

from config.caches import memoized
from config.sql import hot_cursor
from safety.models import Term
from safety.terms import Found, Listed, Matcher, Role, matcher

# Raw SQL on a prepared statement: the ORM spent some 50 times the read itself building this query.
CURATED_ROWS = f"SELECT text, kind, category FROM {Term._meta.db_table}"


def current_matcher() -> Matcher:
    """The shipped lists plus the curators' terms and exceptions (read on each call: a saved term
    applies to the next request; the compiled matcher is cached per set of rows)."""
    with hot_cursor() as cursor:
        cursor.execute(CURATED_ROWS)
        rows = cursor.fetchall()
    return _matcher_for(tuple(sorted(rows)))


@memoized(key="the curators' term rows (text, kind, category)", fresh="none: keyed by the rows themselves, read on each call", maxsize=8)
def _matcher_for(rows: tuple[tuple[str, str, str], ...]) -> Matcher:
    roles = {Term.Kind.BLOCKED: Role.TERM, Term.Kind.ALLOWED: Role.EXCEPTION}
    return matcher(frozenset(Listed(category, text, roles[kind]) for text, kind, category in rows))


def screen(text: str) -> Found | None:
    """What makes ``text`` unsafe, or None (always None when GARDEN_SAFETY_PROMPT_CHECK is off)."""
    if not settings.GARDEN_SAFETY_PROMPT_CHECK or not text or not text.strip():
        return None
    return current_matcher().find(text)


def refusal(text: str) -> str | None:
    """The message for a field whose text is refused, or None when it passes."""
    found = screen(text)
    return message(found) if found else None


def screen_fields(values: dict[str, str], errors: dict[str, str]) -> None:
    """Add an error for each field of ``values`` whose text is refused."""
    if not settings.GARDEN_SAFETY_PROMPT_CHECK:
        return
    check = current_matcher()
    for name, text in values.items():
        if text and (found := check.find(text)):
            errors.setdefault(name, message(found))


def message(found: Found) -> str:
    """The refusal in the request's language: the category, then the listed term (as listed, in every language)."""
    text = gettext('is refused: %(category)s ("%(term)s"). Terms and exceptions are listed in the admin (Safety › Terms).')
    return text % {"category": found.category.label, "term": found.term}
