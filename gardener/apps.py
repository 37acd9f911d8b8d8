from django.apps import AppConfig


class GardenerConfig(AppConfig):
    name = "gardener"
    verbose_name = "Gardener"

    def ready(self):
        from gardener import tasks  # noqa: F401 (registers the beat task)
