"""The two ways the rehearsal takes PostgreSQL away: stopping the local server, or cutting a
loopback relay to it (see the package's docstring for which one a run uses)."""

from __future__ import annotations

import selectors
import shutil
import socket
import subprocess
import threading
from pathlib import Path

from tests.rehearsal.loopback import HOST


class PostgresLink:
    """A loopback TCP relay to PostgreSQL that the rehearsal can cut or black-hole.

    One thread moves the bytes of every connection. `cut()` closes the listening socket (new
    connections are refused) and every open connection (the app reads EOF, as from a server that
    shut down). `blackhole()` keeps every connection open and accepts new ones, but delivers
    nothing either way, as a frozen host or a network path that drops packets does: the app's
    reads simply never return. `restore()` relays again; connections black-holed meanwhile are
    closed, as the server would long since have dropped them.
    """

    def __init__(self, port: int, upstream: tuple[str, int]):
        self.port = port
        self.upstream = upstream
        self._wanted = "up"
        self._applied = threading.Condition()
        self._mode = ""
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> None:
        """Begin relaying."""
        self._thread.start()
        self._wait_for("up")

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        self._set("cut")

    def blackhole(self) -> None:
        """Swallow every byte, both ways, on open and new connections."""
        self._set("blackhole")

    def restore(self) -> None:
        """Relay again (closing the connections that were black-holed)."""
        self._set("up")

    def close(self) -> None:
        """Stop the relay thread and close every socket."""
        self._stop.set()
        self._thread.join(10)

    def _set(self, mode: str) -> None:
        self._wanted = mode
        self._wait_for(mode)

    def _wait_for(self, mode: str) -> None:
        with self._applied:
            if not self._applied.wait_for(lambda: self._mode == mode, timeout=5):
                raise RuntimeError(f"the PostgreSQL relay did not switch to {mode!r}")

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
        # Every open socket -> its partner (None for a black-holed client with no upstream).
        partners: dict[socket.socket, socket.socket | None] = {}

        def drop(sock: socket.socket) -> None:
            for end in (sock, partners.pop(sock, None)):
                if end is not None:
                    partners.pop(end, None)
                    selector.unregister(end)
                    end.close()

        def drop_all() -> None:
            while partners:
                drop(next(iter(partners)))

        try:
            while not self._stop.is_set():
                wanted = self._wanted
                if wanted != self._mode:
                    if wanted in ("up", "blackhole") and listener is None:
                        listener = self._listen()
                        selector.register(listener, selectors.EVENT_READ)
                        self.listening.set()
                    if wanted == "cut" and listener is not None:
                        selector.unregister(listener)
                        listener.close()
                        listener = None
                        self.listening.clear()
                    if wanted == "cut" or self._mode == "blackhole":
                        drop_all()
                    with self._applied:
                        self._mode = wanted
                        self._applied.notify_all()
                for key, _ in selector.select(timeout=0.05):
                    sock = key.fileobj
                    if sock is listener:
                        self._accept(listener, selector, partners)
                    elif sock in partners:
                        try:
                            data = sock.recv(65536)
                            if data:
                                if self._mode != "blackhole":
                                    partners[sock].sendall(data)
                                continue
                        except OSError:
                            pass
                        drop(sock)
        finally:
            drop_all()
            if listener is not None:
                listener.close()
            selector.close()

    def _accept(self, listener, selector, partners) -> None:
        try:
            client, _ = listener.accept()
        except BlockingIOError:
            return
        if self._mode == "blackhole":  # the TCP handshake succeeds, then nothing ever answers
            selector.register(client, selectors.EVENT_READ)
            partners[client] = None
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
