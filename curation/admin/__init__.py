"""The curation admin, by model: images (review, promotion, purge), generation jobs, visitors."""

from curation.admin import images, jobs, visitors  # noqa: F401 (each module registers its ModelAdmin)
