from django.urls import path

from live import views

urlpatterns = [
    path("live", views.LiveView.as_view(), name="live"),
    path("live/<str:job_id>", views.LiveJobView.as_view(), name="live-status"),
]
