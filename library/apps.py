from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class LibraryConfig(AppConfig):
    name = "library"
    verbose_name = gettext_lazy("Model library")

    def ready(self) -> None:
        from celery.signals import worker_ready, worker_shutdown

        from config.checks import require_at_least
        from library import tasks  # noqa: F401 (registers the scan and install tasks)

        require_at_least("GARDEN_LIBRARY_SCAN_SECONDS", 0, "seconds between looks at the models folder, or 0 for none")
        # Workers follow their host's models folder from their main process (files and database, no
        # torch); web processes never scan: they read the rows.
        worker_ready.connect(_follow_the_library, weak=False, dispatch_uid="library-follower-start")
        # A warm shutdown lets an upload into the store finish within a bound, or stops it and says so.
        worker_shutdown.connect(_stop_following, weak=False, dispatch_uid="library-follower-stop")
        require_at_least("GARDEN_LIBRARY_UPLOAD_GRACE_SECONDS", 0, "seconds an upload may take to finish at a worker's shutdown")
        require_at_least("GARDEN_LIBRARY_UPLOAD_STALL_SECONDS", 1, "seconds without progress before an upload is called stalled")


def _stop_following(**_kwargs) -> None:
    from library.services import follow

    try:
        follow.stop_following()
    except Exception:  # a shutdown goes on whatever happens here; the log says why
        import logging

        logging.getLogger(__name__).warning("could not stop following the models folder", exc_info=True)


def _follow_the_library(**_kwargs) -> None:
    from library.services import follow

    try:
        follow.start_following()
    except Exception:  # a worker must start even when the models folder is wrong; the log says why
        import logging

        logging.getLogger(__name__).warning("could not start following the models folder", exc_info=True)
