"""Scenario 2: PostgreSQL gone for ~10 s. Every instance answers `/healthcheck/` 503 within 5 s
throughout, no worker hangs or is replaced, every route works again within seconds of
PostgreSQL's return, without restarting anything; and the 500s of the outage answer at once
although their error e-mails go to a mail server that never answers (the cluster's)."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import ExitStack

import pytest

from tests.rehearsal.cluster import children_of
from tests.rehearsal.load import ROUTES, LoadGenerator, report, send, summarise
from tests.rehearsal.loopback import wait_until

pytestmark = pytest.mark.rehearsal

HEALTH_BOUND_S = 5.0  # the app's promise for /healthcheck/ with the database down
OUTAGE_S = 10.0
SHARED_RESULT_S = 1.0  # a check's result answers the polls of the next second
MAIL_TIMEOUT_S = 5.0  # how long the app's SMTP client waits for the stalling mail server


def test_postgresql_outage_degrades_and_recovers(cluster, capsys, record_property):
    instances = cluster.ensure_instances(2)
    processes_before = {i.name: (i.process.pid, children_of(i.process.pid)) for i in instances}
    direct = [
        LoadGenerator(i.port, cluster.cookie, cluster.callback, threads=1, pause=0.2, target=i.name)
        for i in instances
    ]
    stopped_at = down_at = restarting_at = back_at = recovered_at = 0.0

    def every_route_works() -> bool:
        ports = [cluster.balancer_port] + [i.port for i in instances]
        return all(
            send(port, route, cluster.cookie, cluster.callback)[1]
            for port in ports
            for route in ROUTES
        )

    with ExitStack() as running:
        load = running.enter_context(
            LoadGenerator(cluster.balancer_port, cluster.cookie, cluster.callback)
        )
        for generator in direct:  # one slow prober per instance, past the balancer
            running.enter_context(generator)
        time.sleep(1)
        stopped_at = time.monotonic()
        try:
            cluster.database_outage_begins()
            down_at = time.monotonic()
            time.sleep(OUTAGE_S)
        finally:
            restarting_at = time.monotonic()
            cluster.database_outage_ends()  # whatever happened: other tests share it
            back_at = time.monotonic()
        wait_until(every_route_works, 30, "every route to work again", interval=0.2)
        recovered_at = time.monotonic()
        time.sleep(1)

    direct_records = [r for generator in direct for r in generator.records]
    # While the database is down: from when the stop completed until its restart began.
    during = [r for r in direct_records if down_at < r.started < restarting_at]
    # Polls of the first second may still get the last result from before the outage.
    health = [
        r for r in during if r.route == "/healthcheck/" and r.started > down_at + SHARED_RESULT_S
    ]
    errors = [r for r in during if r.status == 500]
    figures = {
        "mode": cluster.outage_mode,
        "stop_took_s": round(down_at - stopped_at, 2),
        "outage_s": round(back_at - stopped_at, 1),
        "recovered_after_s": round(recovered_at - back_at, 2),
        "balancer": summarise(load.records),
        "direct_during_outage": summarise(during),
        "direct_healthcheck_during_outage": summarise(health),
        "direct_500_during_outage": summarise(errors),
    }
    report(capsys, record_property, "postgresql outage", figures)

    assert health and all(r.status == 503 for r in health), Counter(r.status for r in health)
    assert max(r.latency for r in health) < HEALTH_BOUND_S
    # No worker hangs: every request to an instance got an HTTP answer, within the bound.
    assert all(r.status is not None for r in during)
    assert max(r.latency for r in during) < HEALTH_BOUND_S + 1
    # The Dash callback needs the database (for the user): its 500s are logged and e-mailed,
    # and the e-mail is sent off the request path, so a stalled mail server delays none of them.
    assert errors and max(r.latency for r in errors) < MAIL_TIMEOUT_S / 2
    assert recovered_at - back_at < 10
    # Nothing was restarted: same masters, same workers.
    for instance in instances:
        assert instance.process.poll() is None
        pid, workers = processes_before[instance.name]
        assert (instance.process.pid, children_of(instance.process.pid)) == (pid, workers)
    # After the recovery everything through the balancer works again.
    assert all(r.ok for r in load.records if r.started > recovered_at)
