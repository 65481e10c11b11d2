"""Scenario 1: a rolling restart, start-first (a new instance healthy before SIGTERM to the old
one), fails no request."""

from __future__ import annotations

import signal
import time

import pytest

from tests.rehearsal.load import LoadGenerator, report, summarise
from tests.rehearsal.loopback import wait_until

pytestmark = pytest.mark.rehearsal


def test_rolling_restart_fails_no_request(cluster, capsys, record_property):
    old_instances = cluster.ensure_instances(2)
    stop_times = []
    with LoadGenerator(cluster.balancer_port, cluster.cookie, cluster.callback) as load:
        time.sleep(1)
        for old in old_instances:
            new = cluster.start_instance()
            cluster.wait_healthy(new)
            stop_times.append(cluster.stop_instance(old, signal.SIGTERM))
            wait_until(lambda old=old: cluster.status(old.name).startswith("DOWN"), 10, "DOWN")
        time.sleep(1)
    figures = summarise(load.records)
    figures["sigterm_to_exit_s"] = [round(t, 2) for t in stop_times]
    report(capsys, record_property, "rolling restart", figures)
    failures = [r for r in load.records if not r.ok]
    assert figures["sent"] > 100
    assert not failures, failures[:10]
