from django.contrib import admin
from django.urls import path

from curation import status, views

app_name = "curation"

urlpatterns = [
    # admin_view: the admin's login redirect for anyone who is not active staff, never cached.
    path("curation/review/", admin.site.admin_view(views.review), name="review"),
    path("curation/review/decide", views.decide, name="decide"),
    path("curation/demote/<int:pk>/", admin.site.admin_view(views.demote), name="demote"),
    path("curation/status/", admin.site.admin_view(status.status_page), name="system-status"),
]
