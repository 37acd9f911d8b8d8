from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = gettext_lazy("Generation")

    def ready(self) -> None:
        from celery.signals import worker_ready

        from config.checks import require_at_least, require_choice
        from generation import backends, tasks  # noqa: F401 (registers the Celery tasks: generation.enqueue looks them up)
        from generation.backends.diffusion import SCHEDULERS

        require_choice("GARDEN_GENERATOR_BACKEND", backends.BACKENDS)
        require_choice("GARDEN_DIFFUSION_SCHEDULER", SCHEDULERS)
        require_choice("GARDEN_DIFFUSION_DTYPE", backends.DTYPES)
        require_choice("GARDEN_DIFFUSION_OFFLOAD", backends.OFFLOADS)
        require_choice("GARDEN_DIFFUSION_LEAN", ("auto", "graphs", "eager", "off"))  # generation.backends.lean.MODES
        require_choice("GARDEN_CARD_FINISHING", ("auto", "on", "off"))  # generation.card_finishing.wanted
        require_at_least("GARDEN_DIFFUSION_MEMORY_GB", 0, "this worker's GPU memory in GB, or 0 for the whole card")
        require_at_least("GARDEN_LIBRARY_SCAN_SECONDS", 0, "seconds between looks at the models folder, or 0 for none")
        # Workers follow the models folder from their main process (files and database, no torch);
        # web processes start following when their application loads (library_follow.FollowTheLibrary).
        worker_ready.connect(_follow_the_library, weak=False, dispatch_uid="generation-library-follower")


def _follow_the_library(**_kwargs) -> None:
    from generation.services import library_follow

    try:
        library_follow.start_following()
    except Exception:  # a worker must start even when the models folder is wrong; the log says why
        import logging

        logging.getLogger(__name__).warning("could not start following the models folder", exc_info=True)
