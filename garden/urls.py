from django.urls import path

from garden import views

urlpatterns = [
    path("gardenfromDB", views.GardenFromDBView.as_view(), name="garden-from-db"),
    path("garden", views.GardenView.as_view(), name="garden"),
]
