"""Retouch routes (docs/retouch.md): the staff page and its helpers. Retouch jobs themselves are
submitted to ``POST /api/v1/jobs`` (generation's job API, which hands their kinds to this app)."""

from django.urls import path

from retouch import pages, views

urlpatterns = [
    # APPEND_SLASH is off, so the page also answers without the slash.
    path("kiosk/retouch/", pages.retouch, name="kiosk-retouch"),
    path("kiosk/retouch", pages.retouch),
    path("api/v1/jobs/<uuid:job_id>/archive", views.JobArchiveView.as_view(), name="generation-job-archive"),
    path("api/v1/retouch/status", views.RetouchStatusView.as_view(), name="retouch-status"),
    path("api/v1/retouch/edges", views.EdgesView.as_view(), name="retouch-edges"),
    path("api/v1/retouch/tags", views.TagsView.as_view(), name="retouch-tags"),
]
