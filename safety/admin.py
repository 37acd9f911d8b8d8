"""Safety in the admin: the curators' screening terms by category, and the read-only log of releases.

Terms are read on every screening (safety.prompts.current_matcher): a saved term applies at once.
The shipped lists they add to are data files (safety/data/<category>.json, docs/safety.md).
Releases are written only by safety.services.release_image (the image admin's release form).
"""

from __future__ import annotations

from django.contrib import admin

from safety.models import Release, Term


@admin.register(Term)
class TermAdmin(admin.ModelAdmin):
    list_display = ("text", "category", "kind", "note", "created_at")
    list_filter = ("category", "kind")
    search_fields = ("text", "note")
    fields = ("text", "category", "kind", "note")
    list_per_page = 100


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ("released_at", "image", "released_by", "verdict", "score", "reason")
    list_filter = (("released_at", admin.DateFieldListFilter),)
    search_fields = ("image__key", "reason", "released_by__username")
    list_select_related = ("image", "released_by")
    readonly_fields = ("image", "released_by", "reason", "verdict", "score", "checker", "released_at")
    fields = readonly_fields

    # The log of who let what out: written by the release form only, never edited or removed here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
