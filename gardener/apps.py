from django.apps import AppConfig


class GardenerConfig(AppConfig):
    name = "gardener"
    verbose_name = "Gardener"

    def ready(self):
        from gardener import checks, tasks  # noqa: F401 (register the check and the beat task)
