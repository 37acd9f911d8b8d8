from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class DisplaysConfig(AppConfig):
    name = "displays"
    verbose_name = gettext_lazy("Displays")
