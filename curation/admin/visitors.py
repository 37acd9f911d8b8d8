"""Visitors in the admin: read-only derived labels, for staff with the view right (not curators)."""

from __future__ import annotations

from django.contrib import admin

from curation.paginators import EstimatedCountPaginator
from garden.models import Visitor


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    """Read-only: visitors are derived labels written by /emotion; curators do not get this right."""

    list_display = ("id", "generation", "gender", "emotion", "first_seen", "last_seen")
    list_filter = ("generation", "gender", "emotion", ("last_seen", admin.DateFieldListFilter))
    search_fields = ("=id",)
    list_per_page = 100
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    readonly_fields = ("id", "age_low", "age_high", "generation", "gender", "emotion", "features", "first_seen", "last_seen")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
