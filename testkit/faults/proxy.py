"""A TCP proxy in front of the fault suite's PostgreSQL that can cut a connection at its COMMIT.

Armed, it forwards the next COMMIT to the server, waits for the server's answer (the commit is
done) and then closes both sides without passing that answer on: the client sees its connection
lost at the COMMIT and cannot know the commit happened, which is the case idempotency keys are for.
Unarmed it only relays bytes. The web processes reach the database through it (harness.running_stack).
"""

from __future__ import annotations

import contextlib
import socket
import threading

# psycopg sends a transaction's end as a simple Query message: 'Q', its length, the text, a NUL.
COMMIT = b"COMMIT\x00"


class CommitCutter:
    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.armed = 0  # COMMITs still to cut
        self.cuts = 0  # COMMITs cut whose server answer arrived (committed, answer withheld)
        threading.Thread(target=self._accept, name="commit-cutter", daemon=True).start()

    def arm(self, times: int = 1) -> None:
        with self.lock:
            self.armed += times

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _take_arm(self) -> bool:
        with self.lock:
            if self.armed <= 0:
                return False
            self.armed -= 1
            return True

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
        except OSError:
            client.close()  # the server is down: so is the connection
            return
        upstream.settimeout(None)
        cutting = threading.Event()
        threading.Thread(target=self._answers, args=(upstream, client, cutting), daemon=True).start()
        try:
            while data := client.recv(65536):
                if COMMIT in data and self._take_arm():
                    cutting.set()  # from now on the server's bytes are not passed on
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            for side in (client, upstream):
                with contextlib.suppress(OSError):
                    side.shutdown(socket.SHUT_RDWR)
                side.close()

    def _answers(self, upstream: socket.socket, client: socket.socket, cutting: threading.Event) -> None:
        try:
            while data := upstream.recv(65536):
                if cutting.is_set():  # the COMMIT's answer: the commit is done; the client never hears it
                    with self.lock:
                        self.cuts += 1
                    break
                client.sendall(data)
        except OSError:
            pass
        for side in (client, upstream):
            with contextlib.suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)
