"""Which host this process runs on: the name its model copies and its job queue are recorded under."""

import socket

from django.conf import settings


def host_name() -> str:
    """GARDEN_HOST_NAME, else the machine's host name: the same for every process on one host."""
    return settings.GARDEN_HOST_NAME or socket.gethostname()
