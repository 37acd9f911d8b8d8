"""The curation admin, by model: images (review, promotion, purge), generation jobs, the model library, visitors."""

from curation.admin import images, jobs, library, styles, visitors  # noqa: F401 (each module registers its ModelAdmin)
