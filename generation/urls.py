from django.urls import path

from generation import views

urlpatterns = [
    path("text2image", views.Text2ImageView.as_view(), name="text2image"),
    path("api/v1/jobs", views.JobListView.as_view(), name="generation-jobs"),
    path("api/v1/jobs/<uuid:job_id>", views.JobDetailView.as_view(), name="generation-job"),
    path("api/v1/jobs/<uuid:job_id>/cancel", views.JobCancelView.as_view(), name="generation-job-cancel"),
    path("api/v1/jobs/<uuid:job_id>/retry", views.JobRetryView.as_view(), name="generation-job-retry"),
]
