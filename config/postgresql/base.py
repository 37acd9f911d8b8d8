"""Django's PostgreSQL backend, with a health check that asks the socket before the server.

With CONN_HEALTH_CHECKS (config.settings) Django checks a persistent connection at the first query
of every request with ``SELECT 1``: a whole round trip to the server on every kiosk call, on a
/like as many as the like's own statement (recommend.eventlog). Here an idle connection that the
kernel has nothing to read on is taken as usable without asking. A server that restarted, or ended
the session (pg_terminate_backend, idle timeouts), has closed the socket or sent its FATAL notice,
which makes the socket readable: only then does the check run Django's ``SELECT 1``, which fails
and replaces the connection before the request uses it. What this cannot see, as Django's check
also cannot without a timeout, is a peer that vanished without closing (a cut network); the
request's statement then fails and the client gets a 503 to retry.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN)
            quiet = not poller.poll(0)  # an idle session's server sends nothing unasked
        except (OSError, ValueError):  # the descriptor is gone
            return False
        return quiet or super().is_usable()
