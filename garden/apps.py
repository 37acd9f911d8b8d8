from django.apps import AppConfig


class GardenConfig(AppConfig):
    name = "garden"
    verbose_name = "Garden images and visitors"
