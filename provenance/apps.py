from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class ProvenanceConfig(AppConfig):
    name = "provenance"
    verbose_name = gettext_lazy("Provenance (XMP, C2PA, watermark)")

    def ready(self) -> None:
        from provenance import checks  # noqa: F401  (registers the system checks)
