"""Named queries on garden's tables: the one place other apps' filters on ``Image`` are spelled.

Other apps read pictures as ``Image.objects.<named query>()…`` (tests/garden/test_ownership.py
holds them to it). Each method adds its conditions to the queryset's WHERE, nothing else: no join,
no ordering, no extra query, so a chain costs what the hand-written filter did.
"""

from collections.abc import Iterable

from django.db import models

from garden.choices import CLEARED, QUARANTINED, Status


def serving_through(relation: str) -> models.Q:
    """Rows of another table whose ``relation`` (a foreign key to Image) is a serving picture.

    The named form of ``relation__status="serving"``: the same join, so the same plan.
    """
    return models.Q(**{f"{relation}__status": Status.SERVING})


class ImageQuerySet(models.QuerySet):
    # --- by status ---------------------------------------------------------------------------

    def serving(self) -> "ImageQuerySet":
        """Pictures the kiosk may show now."""
        return self.filter(status=Status.SERVING)

    def pool(self) -> "ImageQuerySet":
        """Pictures awaiting review (or demoted back), not shown."""
        return self.filter(status=Status.POOL)

    def rejected(self) -> "ImageQuerySet":
        """Soft-rejected pictures: their files stay until a confirmed purge."""
        return self.filter(status=Status.REJECTED)

    def not_serving(self) -> "ImageQuerySet":
        """Pictures the kiosk does not show: pool and rejected ones."""
        return self.exclude(status=Status.SERVING)

    def not_rejected(self) -> "ImageQuerySet":
        """Pictures still in the garden: pool and serving ones."""
        return self.exclude(status=Status.REJECTED)

    # --- review marks ------------------------------------------------------------------------

    def kept(self) -> "ImageQuerySet":
        """Pool pictures a reviewer kept: the next promotion."""
        return self.filter(status=Status.POOL, kept=True)

    def undecided(self) -> "ImageQuerySet":
        """Pool pictures no reviewer has kept yet: the review's work left."""
        return self.filter(status=Status.POOL, kept=False)

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
