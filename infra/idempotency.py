"""Where idempotency keys are kept: ``IdempotencyKey`` rows (the HTTP side: config.idempotency).

``IdempotencyKeyRows`` is registered with config.idempotency in ``InfraConfig.ready()``. Its rows are
written in the guarded request's own transaction, so a write committed is a key committed. Keys
live GARDEN_IDEMPOTENCY_HOURS (``sweep_expired_keys``, hourly: garden.tasks.sweep_idempotency_keys);
a deletion request removes a visitor's at once (``forget_visitor_keys``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from config.idempotency import visitor_scope
from infra.models import IdempotencyKey

log = logging.getLogger(__name__)


class IdempotencyKeyRows:
    """config.idempotency.IdempotencyRecords on the ``IdempotencyKey`` table."""

    def claim(self, *, scope: str, key: str, digest: str, expires_at: datetime) -> IdempotencyKey | None:
        # On PostgreSQL a repeat waits here for the transaction that holds the key: the unique
        # index serialises repeats.
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(scope=scope, key=key, fingerprint=digest, expires_at=expires_at)
        except IntegrityError:
            return None

    def keep(self, record: IdempotencyKey, *, status_code: int, content_type: str, headers: dict, body: bytes) -> None:
        record.status_code, record.content_type, record.headers, record.body = status_code, content_type, headers, body
        record.save(update_fields=["status_code", "content_type", "headers", "body"])

    def find(self, *, scope: str, key: str) -> IdempotencyKey | None:
        return IdempotencyKey.objects.filter(scope=scope, key=key).first()

    def take_over(self, *, scope: str, key: str, digest: str, stale_before: datetime, now: datetime) -> IdempotencyKey | None:
        pending = IdempotencyKey.objects.filter(scope=scope, key=key, fingerprint=digest, status_code__isnull=True)
        if not pending.filter(created_at__lt=stale_before).update(created_at=now):
            return None
        return pending.get()

    def release(self, record: IdempotencyKey) -> None:
        try:
            IdempotencyKey.objects.filter(pk=record.pk, status_code__isnull=True).delete()
        except DatabaseError:  # the claim then lapses after GARDEN_IDEMPOTENCY_CLAIM_SECONDS
            log.warning("could not release idempotency key %s", record.key, exc_info=True)


def forget_visitor_keys(*, visitor_id: str) -> int:
    """A deletion request: the kiosk's keys scoped to this visitor, before their
    GARDEN_IDEMPOTENCY_HOURS are up. Rows deleted."""
    deleted, _ = IdempotencyKey.objects.filter(scope=visitor_scope(visitor_id)).delete()
    return deleted


def sweep_expired_keys(*, now: datetime | None = None) -> int:
    """Delete the keys past their GARDEN_IDEMPOTENCY_HOURS; returns how many."""
    return IdempotencyKey.objects.filter(expires_at__lt=now or timezone.now()).delete()[0]
