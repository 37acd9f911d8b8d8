from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class InfraConfig(AppConfig):
    name = "infra"
    verbose_name = gettext_lazy("Infrastructure")
