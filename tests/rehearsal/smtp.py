"""A mail server that never answers: what the app's error e-mails meet when SMTP is slow."""

from __future__ import annotations

import socket
import threading

from tests.rehearsal.loopback import HOST


class StallingSMTPServer:
    """Accepts every connection on a loopback port and then says nothing, not even the SMTP
    greeting, until it is closed: a client waits for its own timeout (smtplib: the handler's)."""

    def __init__(self, port: int = 0):
        self.connections: list[socket.socket] = []
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((HOST, port))
        self.port = self._listener.getsockname()[1]  # the one chosen when `port` is 0
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_forever, daemon=True)
        self._thread.start()

    def _accept_forever(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                continue
            self.connections.append(connection)

    def close(self) -> None:
        """Stop accepting and close every connection it held."""
        self._stop.set()
        self._thread.join(5)
        self._listener.close()
        for connection in self.connections:
            connection.close()
