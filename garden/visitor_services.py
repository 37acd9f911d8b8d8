"""Visitor rows other apps bring in or take out: an export's visitors (curation.transfer), simulated
traffic's (recommend.simulation), and those retention or a deletion request removes
(recommend.retention). The kiosk's own visitors come through garden.services.touch_visitor."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from garden.models import Visitor


def import_visitor(*, visitor_id: str, **fields) -> None:
    """Create the visitor, or overwrite its labels, exactly as an export recorded them."""
    Visitor.objects.update_or_create(id=visitor_id, defaults=fields)


def ensure_visitor(visitor_id: str) -> None:
    """A bare row for an id that imported events name but no visitor record does."""
    Visitor.objects.get_or_create(id=visitor_id)


def add_visitors(visitors: Iterable[Visitor], *, batch_size: int = 2000) -> list[Visitor]:
    """Insert visitor rows in bulk; save() is skipped, so each row must carry its ``segment`` already."""
    return Visitor.objects.bulk_create(visitors, batch_size=batch_size)


def delete_visitors_marked(feature: str) -> int:
    """Delete the visitors whose ``features`` mark them with ``feature`` (``simulated``); returns how many rows went."""
    deleted, _ = Visitor.objects.filter(**{f"features__{feature}": True}).delete()
    return deleted


def delete_visitors(visitors: QuerySet[Visitor], *, batch: int = 5000) -> int:
    """Delete these visitors ``batch`` rows at a time (short locks on a large table); returns how
    many visitor rows went, not counting the rows that went with them."""
    total = 0
    while ids := list(visitors.values_list("pk", flat=True)[:batch]):
        total += Visitor.objects.filter(pk__in=ids).delete()[1].get(Visitor._meta.label, 0)
    return total
