"""Scenario 4: the healthcheck keeps its 5 s promise, and the site keeps answering, under load
and faults that do not stop PostgreSQL: 200 concurrent polls while `stock_prices` is locked,
20 while the database is black-holed (connections open, nothing answers), and two clients that
trickle their request headers. Everything is asked of one instance directly, past HAProxy: the
bare gunicorn must hold by itself (a buffering proxy in front is a second line, not the only one).
"""

from __future__ import annotations

import socket
import time
from collections import Counter

import psycopg
import pytest

from tests.rehearsal.cluster import children_of
from tests.rehearsal.load import LoadGenerator, burst, report, summarise
from tests.rehearsal.loopback import HOST

pytestmark = pytest.mark.rehearsal

HEALTH_BOUND_S = 5.0  # the app's promise for /healthcheck/
# A check's result answers the polls of the next second (HEALTHCHECK_CACHE_SECONDS): a scenario
# waits that long after the fault begins, so that no answer predates it.
SHARED_RESULT_S = 1.0
LOCKED_POLLS = 200
BLACKHOLED_POLLS = 20
SLOW_CLIENTS = 2
TRICKLE_S = 8.0


def workers_of(instances) -> dict[str, tuple[int, set[int]]]:
    """Each instance's master and worker process ids (to show nothing was replaced)."""
    return {i.name: (i.process.pid, children_of(i.process.pid)) for i in instances}


def poll_figures(records) -> dict:
    """What a burst of polls saw: how many, their answers, and how long the slowest took."""
    figures = summarise(records)
    figures["within_bound"] = sum(
        r.status is not None and r.latency < HEALTH_BOUND_S for r in records
    )
    return figures


def test_healthcheck_answers_within_5s_while_the_table_is_locked(
    cluster, capsys, record_property
):
    target, _ = instances = cluster.ensure_instances(2)
    before = workers_of(instances)
    # A real lock, held by another session the whole time: the health query waits behind it.
    with psycopg.connect(cluster.direct_database_url, connect_timeout=5) as locker:
        locker.execute("LOCK TABLE stock_prices IN ACCESS EXCLUSIVE MODE")
        time.sleep(SHARED_RESULT_S + 0.5)
        records = burst(target.port, "/healthcheck/", LOCKED_POLLS)
        locker.rollback()
    figures = poll_figures(records)
    report(capsys, record_property, "200 polls, stock_prices locked", figures)

    assert len(records) == LOCKED_POLLS
    assert all(r.status == 503 for r in records), Counter(r.status for r in records)
    assert max(r.latency for r in records) < HEALTH_BOUND_S
    cluster.wait_healthy(target)
    assert workers_of(instances) == before


def test_healthcheck_answers_within_5s_while_the_database_is_blackholed(
    cluster, capsys, record_property
):
    target, _ = instances = cluster.ensure_instances(2)
    before = workers_of(instances)
    cluster.link.blackhole()
    try:
        time.sleep(SHARED_RESULT_S + 0.5)
        records = burst(target.port, "/healthcheck/", BLACKHOLED_POLLS)
    finally:
        cluster.link.restore()
    figures = poll_figures(records)
    report(capsys, record_property, "20 polls, database black-holed", figures)

    assert all(r.status == 503 for r in records), Counter(r.status for r in records)
    assert max(r.latency for r in records) < HEALTH_BOUND_S
    for instance in instances:
        cluster.wait_healthy(instance)
    assert workers_of(instances) == before


def trickle_headers(port: int) -> socket.socket:
    """Open a connection and start a request whose headers will come one byte at a time."""
    client = socket.create_connection((HOST, port), timeout=5)
    client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
    return client


def test_two_slow_clients_do_not_stall_the_site(cluster, capsys, record_property):
    target, _ = instances = cluster.ensure_instances(2)
    before = workers_of(instances)
    slow = [trickle_headers(target.port) for _ in range(SLOW_CLIENTS)]
    prober = LoadGenerator(
        target.port, cluster.cookie, cluster.callback, threads=2, pause=0.05, target=target.name
    )
    with prober:
        deadline = time.monotonic() + TRICKLE_S
        while time.monotonic() < deadline:
            for client in slow:
                client.sendall(b"X")  # part of a header name: the request never completes
            time.sleep(0.5)
    answers = []
    for client in slow:
        client.sendall(b"-Slow: yes\r\n\r\n")
        try:
            answers.append(client.recv(64).split(b" ", 2)[1].decode())
        except (OSError, IndexError):
            answers.append(None)
        client.close()
    figures = summarise(prober.records)
    figures["slow_clients"] = SLOW_CLIENTS
    figures["trickle_s"] = TRICKLE_S
    figures["slow_client_answers"] = answers
    report(capsys, record_property, "2 slow clients, other requests", figures)

    assert figures["sent"] > 20
    assert all(r.ok for r in prober.records), Counter(r.status for r in prober.records)
    assert figures["max_ms"] < 2000
    assert workers_of(instances) == before
