"""Deployment rehearsal on loopback: what Swarm and Traefik do to the app, done with real processes.

Two instances of the app, each started by the container's own entry point (`docker/entrypoint.sh`:
wait for PostgreSQL, locked migrations, `exec gunicorn -c gunicorn.conf.py wsgi:app`), sit behind
HAProxy, which routes only to instances whose `/healthcheck/` answers 200 (as Traefik's health check
and Swarm's HEALTHCHECK do). A bounded load generator sends `/`, `/healthcheck/` and a logged-in
Dash callback through it while the scenarios run:

1. rolling restart, start-first: start a new instance, wait until it is healthy, SIGTERM the old
   one; zero failed requests;
2. PostgreSQL gone for ~10 s: every instance answers `/healthcheck/` 503 within 5 s throughout, no
   worker hangs or is replaced, and every route works again within seconds of PostgreSQL's return,
   without restarting anything. Run alone (`pytest -m rehearsal`), the rehearsal stops the real
   server with pg_ctlcluster. In the full suite other tests share the server in the same session, so
   the outage cuts the loopback relay between the instances and PostgreSQL instead: open
   connections are closed and new ones refused, which is what the app sees of a stopped server;
3. an instance SIGKILLed (a crashed container): HAProxy stops routing to it, and the failed
   requests stay within its detection window;
4. faults that leave PostgreSQL running, asked of one instance directly (the bare gunicorn must
   hold): 200 concurrent polls with `stock_prices` locked (a real `LOCK TABLE ... ACCESS
   EXCLUSIVE` in another session) and 20 with the database black-holed (the relay keeps every
   connection open and delivers nothing) all answer 503 within 5 s; two clients trickling their
   headers leave every other request unaffected; no worker is replaced.

The instances always reach PostgreSQL through the relay (so that scenario 4 can black-hole it),
and their error e-mails go to a mail server that accepts connections and never answers: the 500s
of scenario 2 must answer at once all the same.

The figures (requests sent, failed, latencies) are printed and kept as test properties; the
figures of a run are in docs/deploy.md. Every address is 127.0.0.1, every port in 18100-18199.

The package: `cluster` (the instances and HAProxy), `postgres` (the relay and the local server),
`smtp` (the stalling mail server), `load` (the load generator, bursts, and their figures),
`loopback` (ports, HTTP, polling); the fixtures are in its conftest.py (one cluster for every
scenario), one scenario per test module.
"""
