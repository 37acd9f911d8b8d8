from django.apps import AppConfig


class ProvenanceConfig(AppConfig):
    name = "provenance"
    verbose_name = "Provenance (XMP, C2PA, watermark)"

    def ready(self) -> None:
        from provenance import checks  # noqa: F401  (registers the system checks)
