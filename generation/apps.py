from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = gettext_lazy("Generation")

    def ready(self) -> None:
        from config.checks import require_at_least, require_choice
        from generation import backends, tasks  # noqa: F401 (registers the Celery tasks: generation.dispatch.enqueue looks them up)
        from generation.backends.diffusion import SCHEDULERS
        from generation.dispatch import presence
        from library import hosts

        # The library (below generation) learns from worker presence which hosts have a worker: an
        # upload whose host is gone is stalled (library.services.uploads).
        hosts.use_presence(presence.present_host_names)

        require_choice("GARDEN_GENERATOR_BACKEND", backends.BACKENDS)
        require_choice("GARDEN_DIFFUSION_SCHEDULER", SCHEDULERS)
        require_choice("GARDEN_DIFFUSION_DTYPE", backends.DTYPES)
        require_choice("GARDEN_DIFFUSION_OFFLOAD", backends.OFFLOADS)
        require_choice("GARDEN_DIFFUSION_LEAN", ("auto", "graphs", "eager", "off"))  # generation.backends.lean.MODES
        require_choice("GARDEN_CARD_FINISHING", ("auto", "on", "off"))  # generation.worker.card_finishing.wanted
        require_at_least("GARDEN_DIFFUSION_MEMORY_GB", 0, "this worker's GPU memory in GB, or 0 for the whole card")
