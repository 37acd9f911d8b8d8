"""Named queries on garden's tables: the one place other apps' filters on ``Image`` are spelled.

Other apps read pictures as ``Image.objects.<named query>()…`` (tests/garden/test_ownership.py
holds them to it). Each method adds its conditions to the queryset's WHERE, nothing else: no join,
no ordering, no extra query, so a chain costs what the hand-written filter did.
"""

from collections.abc import Iterable

from django.db import models

from garden import freshness
from garden.choices import CLEARED, QUARANTINED, Status


def serving_through(relation: str) -> models.Q:
    """Rows of another table whose ``relation`` (a foreign key to Image) is a serving picture.

    The named form of ``relation__status="serving"``: the same join, so the same plan.
    """
    return models.Q(**{f"{relation}__status": Status.SERVING})


class ImageQuerySet(models.QuerySet):
    # --- writes (garden's own modules only): each moves the serving version when it may matter ---
    # A queryset narrowed by a named query to rows that are not serving (pool(), rejected()…).
    _without_serving = False

    def _clone(self):
        clone = super()._clone()  # type: ignore[misc]
        clone._without_serving = self._without_serving
        return clone

    def __or__(self, other):
        combined = super().__or__(other)
        combined._without_serving = self._without_serving and getattr(other, "_without_serving", False)
        return combined

    def __xor__(self, other):
        combined = super().__xor__(other)  # type: ignore[misc]
        combined._without_serving = self._without_serving and getattr(other, "_without_serving", False)
        return combined

    def _not_serving(self) -> "ImageQuerySet":
        self._without_serving = True
        return self

    def update(self, **kwargs) -> int:
        if not freshness.touches_serving(kwargs, status=kwargs.get("status"), maybe_serving=not self._without_serving):
            return super().update(**kwargs)
        with freshness.atomic(self.db):
            updated = super().update(**kwargs)
            freshness.after_write(updated > 0, self.db)
        return updated

    def delete(self):
        if self._without_serving:
            return super().delete()
        with freshness.atomic(self.db):
            deleted = super().delete()
            freshness.after_write(deleted[0] > 0, self.db)
        return deleted

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        if not any(obj.status == Status.SERVING for obj in objs):
            return super().bulk_create(objs, *args, **kwargs)
        with freshness.atomic(self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            freshness.after_write(bool(created), self.db)
        return created

    # --- by status ---------------------------------------------------------------------------

    def serving(self) -> "ImageQuerySet":
        """Pictures the kiosk may show now."""
        return self.filter(status=Status.SERVING)

    def pool(self) -> "ImageQuerySet":
        """Pictures awaiting review (or demoted back), not shown."""
        return self.filter(status=Status.POOL)._not_serving()

    def rejected(self) -> "ImageQuerySet":
        """Soft-rejected pictures: their files stay until a confirmed purge."""
        return self.filter(status=Status.REJECTED)._not_serving()

    def not_serving(self) -> "ImageQuerySet":
        """Pictures the kiosk does not show: pool and rejected ones."""
        return self.exclude(status=Status.SERVING)._not_serving()

    def not_rejected(self) -> "ImageQuerySet":
        """Pictures still in the garden: pool and serving ones."""
        return self.exclude(status=Status.REJECTED)

    # --- review marks ------------------------------------------------------------------------

    def kept(self) -> "ImageQuerySet":
        """Pool pictures a reviewer kept: the next promotion."""
        return self.filter(status=Status.POOL, kept=True)._not_serving()

    def undecided(self) -> "ImageQuerySet":
        """Pool pictures no reviewer has kept yet: the review's work left."""
        return self.filter(status=Status.POOL, kept=False)._not_serving()

    # --- the image check's verdict (safety) ---------------------------------------------------

    def quarantined(self) -> "ImageQuerySet":
        """Flagged by the image check and not released: never served, bred from or promoted."""
        return self.filter(QUARANTINED)

    def not_quarantined(self) -> "ImageQuerySet":
        """Everything but quarantined pictures (unchecked ones included)."""
        return self.exclude(QUARANTINED)

    def cleared(self) -> "ImageQuerySet":
        """Safe to show or breed with no curator: the check passed them, or a curator released them."""
        return self.filter(CLEARED)

    # --- what they are -----------------------------------------------------------------------

    def of_key(self, search_key: str) -> "ImageQuerySet":
        """Pictures of one search key (``emotion`` or ``emotion/favorite``)."""
        return self.filter(search_key=search_key)

    def made_by(self, generator: str) -> "ImageQuerySet":
        """Pictures one generator made (``procedural``, ``diffusers``, ``simulation``…)."""
        return self.filter(generator=generator)

    def bred(self) -> "ImageQuerySet":
        """Pictures bred from others: their parameters carry a lineage."""
        return self.filter(parameters__has_key="lineage")

    def live_pictures(self) -> "ImageQuerySet":
        """Pictures painted live for a visitor at the kiosk."""
        return self.filter(live=True)

    # --- which ones --------------------------------------------------------------------------

    def all_pictures(self) -> "ImageQuerySet":
        """Every picture, whatever its status."""
        return self.all()

    def with_id(self, pk: int | str) -> "ImageQuerySet":
        """The picture with this id (none if it is gone)."""
        return self.filter(pk=pk)

    def with_ids(self, ids: Iterable[int] | models.QuerySet) -> "ImageQuerySet":
        """The pictures with these ids (a list, or a subquery of ids)."""
        return self.filter(pk__in=ids)

    def with_key(self, key: str) -> "ImageQuerySet":
        """The picture stored under this key (keys are unique)."""
        return self.filter(key=key)

    def with_keys(self, keys: Iterable[str]) -> "ImageQuerySet":
        """The pictures stored under these keys."""
        return self.filter(key__in=keys)
