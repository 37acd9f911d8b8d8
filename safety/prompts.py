"""Prompt screening: every text that reaches a generator is looked at before a job is queued.

``generation.requests.JobRequest.validate`` screens each job's texts (so the job API, the bulk
form, /text2image, the A1111 API, retouch tags and the gardener's bred prompts are all covered);
the gardener's word bank screens a word when a curator saves it.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext

from safety.models import Term
from safety.terms import Matcher, matcher


def current_matcher() -> Matcher:
    """The shipped terms plus the curators' (read on each call: a saved term applies at once)."""
    blocked: set[str] = set()
    allowed: set[str] = set()
    for text, kind in Term.objects.values_list("text", "kind"):
        (blocked if kind == Term.Kind.BLOCKED else allowed).add(text)
    return matcher(frozenset(blocked), frozenset(allowed))


def blocked_term(text: str) -> str | None:
    """The first blocked term in ``text``, or None (always None when GARDEN_SAFETY_PROMPT_CHECK is off)."""
    if not settings.GARDEN_SAFETY_PROMPT_CHECK or not text or not text.strip():
        return None
    return current_matcher().find(text)


def refusal(text: str) -> str | None:
    """The message for a field whose text holds a blocked term, or None when it passes."""
    term = blocked_term(text)
    return _message(term) if term else None


def screen_fields(values: dict[str, str], errors: dict[str, str]) -> None:
    """Add an error for each field of ``values`` whose text holds a blocked term."""
    if not settings.GARDEN_SAFETY_PROMPT_CHECK:
        return
    check = current_matcher()
    for name, text in values.items():
        if text and (term := check.find(text)):
            errors.setdefault(name, _message(term))


def _message(term: str) -> str:
    # The term is quoted as the visitor wrote it, in every language.
    message = gettext('contains a blocked term: "%(term)s". Blocked terms and allowed exceptions are listed in the admin (Safety › Terms).')
    return message % {"term": term}
