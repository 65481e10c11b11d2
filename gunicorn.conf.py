"""gunicorn settings, read from the environment so containers can be tuned without rebuilding.

Shutdown is graceful: on SIGTERM (what Docker and Swarm send) gunicorn stops accepting, lets the
requests in flight finish for up to GUNICORN_GRACEFUL_TIMEOUT seconds, then exits. The container's
stop_grace_period must be longer, or Docker's SIGKILL cuts those requests off.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # all interfaces: inside a container
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Import the app once in the master: workers fork from it (faster start, shared memory), and a
# broken configuration stops the master at once with one clear error instead of a crash loop.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1").strip().lower() in ("1", "true", "yes", "on")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# The heartbeat file lives in memory: a container's overlay filesystem can stall it.
worker_tmp_dir = "/dev/shm"  # noqa: S108
# gunicorn >= 25 opens a control socket under $HOME by default; two instances on one host (or a
# non-root user without a writable home) would fight over it, and nothing here uses it.
control_socket_disable = True


def post_fork(server, worker):
    """Give each worker its own database connections when the app was preloaded.

    A connection opened in the master (say, by code that queries at import time) would otherwise be
    shared by every forked worker, and interleaved traffic on one socket corrupts both sides.
    `dispose(close=False)` drops the inherited pool without closing the master's sockets, as
    SQLAlchemy recommends after fork.
    """
    if server.cfg.preload_app:
        dispose_engine_pools(worker.app.wsgi())


def dispose_engine_pools(flask_app) -> None:
    """Replace the connection pool of every SQLAlchemy engine bound to `flask_app`."""
    sqlalchemy = getattr(flask_app, "extensions", {}).get("sqlalchemy")
    if sqlalchemy is None:
        return
    with flask_app.app_context():
        for engine in sqlalchemy.engines.values():
            engine.dispose(close=False)
