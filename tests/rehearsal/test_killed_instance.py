"""Scenario 3: an instance SIGKILLed (a crashed container) is taken out of rotation by HAProxy,
and the failed requests stay within its detection window."""

from __future__ import annotations

import signal
import time

import pytest

from tests.rehearsal.load import LoadGenerator, report, summarise
from tests.rehearsal.loopback import wait_until

pytestmark = pytest.mark.rehearsal


def test_killed_instance_is_taken_out_of_rotation(cluster, capsys, record_property):
    victim, survivor = cluster.ensure_instances(2)
    with LoadGenerator(cluster.balancer_port, cluster.cookie, cluster.callback) as load:
        time.sleep(1.5)
        killed_at = time.monotonic()
        cluster.stop_instance(victim, signal.SIGKILL)
        detection = wait_until(
            lambda: cluster.status(victim.name).startswith("DOWN"), 10, "HAProxy to notice"
        )
        down_at = killed_at + detection
        sessions_when_down = int(cluster.server_states()[victim.name]["stot"])
        time.sleep(3)
    failures = [r for r in load.records if not r.ok]
    window = [r for r in load.records if killed_at - 0.5 < r.started < down_at + 0.1]
    figures = summarise(load.records)
    figures["detection_s"] = round(detection, 2)
    figures["requests_in_detection_window"] = len(window)
    report(capsys, record_property, "instance killed", figures)

    assert detection < 3
    # HAProxy sent the dead instance nothing once it was marked down...
    assert int(cluster.server_states()[victim.name]["stot"]) == sessions_when_down
    # ...and whatever failed was in flight or routed before it noticed.
    assert all(killed_at - 0.5 < r.started < down_at + 0.5 for r in failures), failures[:5]
    assert len(failures) <= len(window)
    assert survivor.process.poll() is None
    assert all(r.ok for r in load.records if r.started > down_at + 0.5)
