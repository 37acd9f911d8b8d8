"""Which host this process runs on (the name its model copies, uploads and workers are recorded under),
and which hosts have a worker now.

Worker presence is kept above this app (the workers' presence rows, read by generation's presence
reader); the app that reads it registers its reader here once (``use_presence``, in its
AppConfig.ready), so the library asks one function, ``present_hosts``, and imports nothing above it.
"""

import socket
from collections.abc import Callable, Iterable

from django.conf import settings

PresenceReader = Callable[[], Iterable[str]]
_presence_reader: PresenceReader | None = None


def host_name() -> str:
    """GARDEN_HOST_NAME, else the machine's host name: the same for every process on one host."""
    return settings.GARDEN_HOST_NAME or socket.gethostname()


def use_presence(reader: PresenceReader) -> None:
    """Register the reader of the hosts with a worker present now (replaces an earlier one)."""
    global _presence_reader
    _presence_reader = reader


def present_hosts() -> set[str] | None:
    """The host names with a worker seen now; None when no reader is registered (nothing known)."""
    return None if _presence_reader is None else set(_presence_reader())
