from django.urls import path

from screens import pages, views

urlpatterns = [
    path("screens/beat", views.BeatView.as_view(), name="screens-beat"),
    path("screens/enrol", views.EnrolView.as_view(), name="screens-enrol"),
    path("screens/enrol/<str:token>", pages.enrol_page, name="screens-enrol-page"),
]
