from django.urls import path

from generation import pages, views

urlpatterns = [
    # POST: the legacy API; GET: the page an old `?prompt=` link opens (views.text2image dispatches).
    path("text2image", views.text2image, name="text2image"),
    # The staff page (generation/pages.py); APPEND_SLASH is off, so it also answers without the slash.
    path("kiosk/text2image/", pages.text2image, name="kiosk-text2image"),
    path("kiosk/text2image", pages.text2image),
    path("api/v1/jobs", views.JobListView.as_view(), name="generation-jobs"),
    path("api/v1/jobs/<uuid:job_id>", views.JobDetailView.as_view(), name="generation-job"),
    path("api/v1/jobs/<uuid:job_id>/cancel", views.JobCancelView.as_view(), name="generation-job-cancel"),
    path("api/v1/jobs/<uuid:job_id>/retry", views.JobRetryView.as_view(), name="generation-job-retry"),
]
