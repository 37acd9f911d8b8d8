"""The curation admin, by model: images (review, promotion, purge), generation jobs, the model library, visitors."""

from axes import admin as axes_admin  # noqa: F401 (registers AccessAttempt; logins replaces its admin)
from django.contrib import admin
from rest_framework.authtoken.admin import TokenAdmin  # noqa: F401 (registers TokenProxy; imported first so it is there to remove)
from rest_framework.authtoken.models import TokenProxy

from curation.admin import client_choices, images, jobs, library, logins, styles, visitors  # noqa: F401 (each module registers its ModelAdmin)

# DRF's "Auth Token" app showed on the admin index as a bare, untranslated "AUTH TOKEN" section. API tokens
# are made and rotated with `manage.py drf_create_token [-r] <user>` (docs/api.md); SD clients get client keys.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)
