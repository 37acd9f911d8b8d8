from django.urls import path

from recommend import views

urlpatterns = [
    path("like", views.LikeView.as_view(), name="like"),
]
