"""The serving set's version, moved by garden's own writes of images: no caller has to remember it.

Every write of an image goes through ``ImageQuerySet`` (update, delete, bulk_create) or ``Image.save``
and ``delete`` (garden alone writes its tables: tests/garden/test_ownership.py); each calls here, in
the writer's transaction, when the write may change what is served. Why a second "images changed"
signal (garden.catalog_changes' trigger-made counter) stays: this token is moved in Python on every
serving change and rolls back with it; the triggers see deletes and re-keys that bypass the ORM (raw
SQL, restores), which the recommender's stored counts must not miss, and would move the token on
writes that cannot change what is served.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, transaction

from garden.choices import Status

# Columns no serving answer reads: a write of these alone keeps the version.
NOT_SERVED = frozenset(
    {"kept", "safety_verdict", "safety_score", "safety_checker", "safety_reason", "safety_released", "rejected_at", "thumbnail_key"}
)


def serving_changed(using: str = DEFAULT_DB_ALIAS) -> None:
    """Give the serving set a new version, in the caller's transaction (it commits with the change)."""
    # By name, not by import: garden.models imports this module for its writes.
    states = apps.get_model("garden", "ServingState").objects.using(using)
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
