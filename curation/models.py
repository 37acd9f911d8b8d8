"""Curation owns no table of its own: a proxy of garden.Image carries the curation permissions.

A proxy keeps garden's schema untouched (no garden migration) while giving the rights that are
not plain change/view rights — promoting to the kiosks and deleting files for good — their own
codenames: ``curation.promote_image`` and ``curation.purge_image``.
"""

from garden.models import Image


class CuratedImage(Image):
    class Meta:
        proxy = True
        # Only the custom rights: add/change/delete/view stay on garden.Image itself.
        default_permissions = ()
        permissions = [
            ("promote_image", "Can promote images to serving and demote them"),
            ("purge_image", "Can purge rejected images (delete their files for good)"),
        ]
        verbose_name = "curated image"
