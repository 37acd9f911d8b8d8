from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class LiveConfig(AppConfig):
    """The live picture (docs/live.md): one picture painted now for the visitor at the kiosk."""

    name = "live"
    verbose_name = gettext_lazy("Live picture")

    def ready(self) -> None:
        from celery.signals import worker_process_init

        from config.checks import require_choice
        from garden import forgetting
        from generation import worker_api
        from live import checks, services  # noqa: F401 (checks registers the live pictures' system check)
        from live.worker.run import RUNNER

        # A deletion request or retention also reaches the visitor ids of live requests.
        forgetting.register(services.forget_live_requests)
        # generation's execute_job hands claimed live jobs to the live worker.
        worker_api.register_live_runner(RUNNER)
        require_choice("GARDEN_LIVE_DEVICE_POST", ("auto", "on", "off"))
        # A live worker's pool process warms the live model before its first job (GPU workers).
        worker_process_init.connect(_warm_live_model, weak=False)


def _warm_live_model(**_kwargs) -> None:
    from celery import current_app

    from live.worker.device import warm_at_start

    warm_at_start(current_app.amqp.queues.consume_from.keys())
