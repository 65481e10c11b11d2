"""The two ways the rehearsal takes PostgreSQL away: stopping the local server, or cutting a
loopback relay to it (see the package's docstring for which one a run uses)."""

from __future__ import annotations

import selectors
import shutil
import socket
import subprocess
import threading
from pathlib import Path

from tests.rehearsal.loopback import HOST, wait_until


class PostgresLink:
    """A loopback TCP relay to PostgreSQL that the rehearsal can cut, as if the server stopped.

    One thread moves the bytes of every connection. `cut()` closes the listening socket (new
    connections are refused) and every open connection (the app reads EOF, as from a server that
    shut down); `restore()` listens again.
    """

    def __init__(self, port: int, upstream: tuple[str, int]):
        self.port = port
        self.upstream = upstream
        self._wanted_up = threading.Event()
        self._wanted_up.set()
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> None:
        """Begin relaying."""
        self._thread.start()
        wait_until(self.listening.is_set, 5, "the PostgreSQL relay")

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        self._wanted_up.clear()
        wait_until(lambda: not self.listening.is_set(), 5, "the relay to cut")

    def restore(self) -> None:
        """Accept connections again."""
        self._wanted_up.set()
        wait_until(self.listening.is_set, 5, "the relay to listen")

    def close(self) -> None:
        """Stop the relay thread and close every socket."""
        self._stop.set()
        self._thread.join(10)

    def _listen(self) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(64)
        listener.setblocking(False)
        return listener

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        listener: socket.socket | None = None
        partners: dict[socket.socket, socket.socket] = {}

        def drop(sock: socket.socket) -> None:
            for end in (sock, partners.pop(sock, None)):
                if end is not None:
                    partners.pop(end, None)
                    selector.unregister(end)
                    end.close()

        try:
            while not self._stop.is_set():
                if self._wanted_up.is_set() and listener is None:
                    listener = self._listen()
                    selector.register(listener, selectors.EVENT_READ)
                    self.listening.set()
                elif not self._wanted_up.is_set() and listener is not None:
                    selector.unregister(listener)
                    listener.close()
                    listener = None
                    while partners:
                        drop(next(iter(partners)))
                    self.listening.clear()
                for key, _ in selector.select(timeout=0.05):
                    sock = key.fileobj
                    if sock is listener:
                        self._accept(listener, selector, partners)
                    elif sock in partners:
                        try:
                            data = sock.recv(65536)
                            if data:
                                partners[sock].sendall(data)
                                continue
                        except OSError:
                            pass
                        drop(sock)
        finally:
            while partners:
                drop(next(iter(partners)))
            if listener is not None:
                listener.close()
            selector.close()

    def _accept(self, listener, selector, partners) -> None:
        try:
            client, _ = listener.accept()
        except BlockingIOError:
            return
        try:
            server = socket.create_connection(self.upstream, timeout=3)
        except OSError:
            client.close()
            return
        for end in (client, server):
            # Blocking sends with a timeout keep the relay simple: PostgreSQL messages are small.
            end.settimeout(5)
            selector.register(end, selectors.EVENT_READ)
        partners[client], partners[server] = server, client


def postgres_cluster() -> list[str] | None:
    """`VERSION main` of the local Debian cluster, when this machine runs one we may stop."""
    if shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir():
        return None
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir() if p.is_dir())
    return [versions[-1], "main"] if versions else None


def pg_ctl(action: str) -> None:
    """Start or stop the local cluster (other tests share it: callers always restart it)."""
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *postgres_cluster(), action],
        check=True,
        capture_output=True,
        timeout=60,
    )


def postgres_ready() -> bool:
    """pg_isready on 127.0.0.1:5432."""
    return (
        subprocess.run(["pg_isready", "-q", "-h", HOST, "-p", "5432"], timeout=10).returncode == 0
    )
