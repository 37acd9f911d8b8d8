from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class A1111Config(AppConfig):
    """The AUTOMATIC1111-compatible API (docs/a1111.md): its views and parsing, and the prompt styles (PromptStyle)."""

    name = "a1111"
    verbose_name = gettext_lazy("AUTOMATIC1111-compatible API")

    def ready(self) -> None:
        from a1111 import keypath

        keypath.install_log_filters()  # client keys in base URLs never reach the access logs
