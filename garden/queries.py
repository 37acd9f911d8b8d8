"""Named queries on garden's tables: the one place other apps' filters on ``Image`` are spelled."""

from django.db import models


class ImageQuerySet(models.QuerySet):
    def serving(self) -> "ImageQuerySet":
        """Pictures the kiosk may show now."""
        return self.filter(status="serving")
