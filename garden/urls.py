from django.urls import path

from garden import views
from garden.emotion_views import EmotionView

urlpatterns = [
    path("gardenfromDB", views.GardenFromDBView.as_view(), name="garden-from-db"),
    path("garden", views.GardenView.as_view(), name="garden"),
    path("emotion", EmotionView.as_view(), name="emotion"),
]
