"""The serving set's version, moved by garden's own writes of images: no caller has to remember it.

Every write of an image goes through ``ImageQuerySet`` (update, delete, bulk_create) or
``Image.save`` (garden writes its tables alone: tests/garden/test_ownership.py), and those call
``after_write`` here, in the writer's transaction. The version moves when the write may change what
is served: a row that is or becomes serving, or a change of status, key or any column an answer
shows. Caches of what is served (garden.selectors.rendered_garden, the recommender's candidates)
are kept under the version, so a promotion is in the very next answer.

One of two "images changed" signals, on purpose: this one is a random token moved in Python, in the
writer's transaction, whenever the serving set may have changed (a rolled-back write restores the
old token); garden.catalog_changes' counter is bumped by database triggers when images are deleted
or re-keyed, whatever wrote them (raw SQL, restores), and tells the recommender's stored counts
whether the images they were counted against still hold. One cannot stand for the other: triggers
on every serving change would move the token on writes Python already sees, and a Python token
would miss the writes that bypass the ORM.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, transaction

from garden.choices import Status

# Columns no serving answer reads: a write of these alone keeps the version.
NOT_SERVED = frozenset(
    {"kept", "safety_verdict", "safety_score", "safety_checker", "safety_reason", "safety_released", "rejected_at", "thumbnail_key"}
)


def serving_changed(using: str = DEFAULT_DB_ALIAS) -> None:
    """Give the serving set a new version, in the caller's transaction (it commits with the change)."""
    from garden.models import ServingState

    states = ServingState.objects.using(using)
    if not states.filter(pk=1).update(version=secrets.token_hex(8)):
        states.create(pk=1, version=secrets.token_hex(8))


def touches_serving(fields: Iterable[str], *, status: object = None, maybe_serving: bool = True) -> bool:
    """Whether a write of ``fields`` (setting ``status`` when given) may change the serving set:
    it makes rows serving, or changes a served column of rows that may be serving."""
    if status == Status.SERVING:
        return True
    return maybe_serving and not set(fields) <= NOT_SERVED


def after_write(changed: bool, using: str) -> None:
    """Called by the image writes once they wrote something that ``touches_serving``."""
    if changed:
        serving_changed(using)


def atomic(using: str):
    """The write and its version in one transaction (no savepoint inside the caller's)."""
    return transaction.atomic(using=using, savepoint=False)
