from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class LiveConfig(AppConfig):
    """The live picture (docs/live.md): one picture painted now for the visitor at the kiosk."""

    name = "live"
    verbose_name = gettext_lazy("Live picture")

    def ready(self) -> None:
        from celery import current_app

        from config import status_facts
        from garden import forgetting
        from live import checks, selectors, services  # noqa: F401 (checks registers the live pictures' system check)
        from live.worker import LiveWarmUp

        # A deletion request or retention also reaches the visitor ids of live requests.
        forgetting.register(services.forget_live_requests)
        # The System status page says who paints live pictures (it imports nothing of ours).
        status_facts.register("live", selectors.status_facts)
        # A worker serving the live queue makes the live painter ready before it says it is.
        current_app.steps["worker"].add(LiveWarmUp)
