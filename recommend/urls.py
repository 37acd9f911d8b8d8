from django.urls import path

from recommend import views

urlpatterns = [
    path("garden", views.GardenView.as_view(), name="garden"),
    path("like", views.LikeView.as_view(), name="like"),
    path("impression", views.ImpressionView.as_view(), name="impression"),
    path("dislike", views.DislikeView.as_view(), name="dislike"),
]
