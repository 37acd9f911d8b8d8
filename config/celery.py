"""The Celery application. Settings come from Django settings with the ``CELERY_`` prefix."""

import logging
import os

from celery import Celery
from celery.signals import worker_shutting_down

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("garden")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class QuietStop(logging.Filter):
    """Drops billiard's ERROR "Process 'ForkPoolWorker-1' pid:… exited with 'signal 15 (SIGTERM)'"
    once the worker is stopping: honcho (``make run``'s Ctrl-C) sends SIGTERM to the worker's whole
    process group, its pool process included, which is the stop asked for, not an error. Any other
    exit, or that one while the worker runs, is still logged."""

    stopping = False

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (self.stopping and record.msg == "Process %r pid:%r exited with %r" and args[-1:] == ("signal 15 (SIGTERM)",))


quiet_stop = QuietStop()
logging.getLogger("multiprocessing").addFilter(quiet_stop)  # billiard's logger (billiard.util.LOGGER_NAME)


@worker_shutting_down.connect
def _note_stopping(**kwargs) -> None:
    quiet_stop.stopping = True
