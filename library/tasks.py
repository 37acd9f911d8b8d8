"""The library's Celery tasks. Their names keep the generation app's (``generation.tasks.…``):
messages the previous release queued during a deploy still find them."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="generation.tasks.scan_library", ignore_result=True)
def scan_library(scan_id: int) -> None:
    """The admin's queued Rescan of the models folder (library.services.follow)."""
    from library.services import follow as library_follow

    library_follow.run_requested(scan_id)


@shared_task(
    name="generation.tasks.install_model",
    ignore_result=True,
    # Acknowledged when taken: a download may outlast the broker's visibility timeout, and a second
    # delivery would write the same staging file; a lost worker's install is simply asked for again
    # (it resumes its download).
    acks_late=False,
    reject_on_worker_lost=False,
)
def install_model(install_id: str, source: str, options: dict) -> None:
    """The admin's "Install a model" (docs/models.md#installing-models), on a worker whose models
    folder is writable; progress and outcome go to the install's status file."""
    from library.services import install

    install.run_install(install_id, source, options)
