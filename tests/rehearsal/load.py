"""The load generator: a few threads sending `/`, `/healthcheck/` and a logged-in Dash callback,
bounded in count and in time, and the figures of what they saw."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from tests.rehearsal.loopback import http_request


@dataclass
class Record:
    """One request of the load generator."""

    route: str
    started: float
    latency: float
    status: int | None  # None: no HTTP answer at all
    ok: bool
    target: str = "balancer"


ROUTES = ("/", "/healthcheck/", "dash")


def send(
    port: int, route: str, cookie: str, callback: bytes = b"", timeout: float = 10.0
) -> tuple[int | None, bool]:
    """One request of `route` on a fresh connection; (status, whether it is the right answer).

    "dash" posts `callback` to Dash's callback route as the logged-in user: right is a 200 with
    Dash's JSON, or 204 (the callback chose not to update).
    """
    try:
        if route == "dash":
            status, _, body = http_request(
                port,
                "POST",
                "/dash/_dash-update-component",
                body=callback,
                headers={"Content-Type": "application/json", "Cookie": cookie},
                timeout=timeout,
            )
            return status, status == 204 or (status == 200 and b'"response"' in body)
        status, _, body = http_request(port, "GET", route, timeout=timeout)
        return status, status == 200
    except (OSError, http.client.HTTPException):
        return None, False


@dataclass
class LoadGenerator:
    """A few threads sending the routes in turn to one port, bounded in count and in time."""

    port: int
    cookie: str
    callback: bytes
    threads: int = 3
    pause: float = 0.01
    max_requests: int = 20_000
    max_seconds: float = 90.0
    target: str = "balancer"
    records: list[Record] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []

    def __enter__(self) -> LoadGenerator:
        self._deadline = time.monotonic() + self.max_seconds
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, args=(index,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(30)

    def _run(self, index: int) -> None:
        turn = index
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            with self._lock:
                if len(self.records) >= self.max_requests:
                    return
            route = ROUTES[turn % len(ROUTES)]
            turn += 1
            started = time.monotonic()
            status, ok = send(self.port, route, self.cookie, self.callback)
            record = Record(route, started, time.monotonic() - started, status, ok, self.target)
            with self._lock:
                self.records.append(record)
            time.sleep(self.pause)


def burst(port: int, path: str, count: int, timeout: float = 15.0) -> list[Record]:
    """`count` GETs of `path` sent at once (each on its own connection and thread, released
    together by a barrier); one Record each, in no particular order."""
    records: list[Record] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def one() -> None:
        barrier.wait()
        started = time.monotonic()
        try:
            status, _, _ = http_request(port, "GET", path, timeout=timeout)
        except (OSError, http.client.HTTPException):
            status = None
        record = Record(path, started, time.monotonic() - started, status, status is not None)
        with lock:
            records.append(record)

    threads = [threading.Thread(target=one, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 30)
    return records


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of `values` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summarise(records: list[Record]) -> dict:
    """Requests sent, failed, and latency percentiles in milliseconds."""
    latencies = [r.latency for r in records]
    return {
        "sent": len(records),
        "failed": sum(not r.ok for r in records),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies, default=0) * 1000, 1),
        "statuses": dict(Counter(str(r.status) for r in records)),
    }


def report(capsys, record_property, scenario: str, figures: dict) -> None:
    """Show the figures in pytest's output (even without -s) and keep them as properties."""
    record_property(scenario, json.dumps(figures))
    with capsys.disabled():
        print(f"\n[rehearsal] {scenario}: {json.dumps(figures)}")
