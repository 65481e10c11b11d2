"""gunicorn settings, read from the environment (and .env, as wsgi.py reads it) so containers can
be tuned without rebuilding.

Serving model: gthread workers, GUNICORN_THREADS (4) threads each. A request that waits (for the
database, a slow client's headers) holds one thread, not a whole process, and the worker's main
thread keeps accepting and heartbeating meanwhile, so gunicorn never kills a worker for one
stuck request. A buffering proxy in front (Traefik in the stack, the TLS proxy docs/deploy.md
asks for with Compose) absorbs slow clients too, but the bare server holds on its own.

Workers: GUNICORN_WORKERS, by default 2 with a shared rate-limit storage (Redis) and 1 with
`memory://`, whose counters are per process: several workers would each allow the full
LOGIN_RATE_LIMIT. Starting more than one worker with `memory://` is refused unless
RATELIMIT_PER_PROCESS=1 says that this is meant.

Shutdown is graceful: on SIGTERM (what Docker and Swarm send) gunicorn stops accepting, lets the
requests in flight finish for up to GUNICORN_GRACEFUL_TIMEOUT seconds, then exits. The container's
stop_grace_period must be longer, or Docker's SIGKILL cuts those requests off.
"""

import os
from pathlib import Path

from dotenv import load_dotenv

load_dotenv(Path(__file__).resolve().with_name(".env"))  # the environment wins, as in wsgi.py

TRUE_WORDS = ("1", "true", "yes", "on")


def per_process_limits(environ) -> bool:
    """True when failed logins would be counted per process (memory:// storage, limits on)."""
    storage = environ.get("RATELIMIT_STORAGE_URI", "").strip() or "memory://"
    enabled = environ.get("RATELIMIT_ENABLED", "1").strip().lower() in TRUE_WORDS
    return enabled and storage.startswith("memory://")


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # all interfaces: inside a container
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS") or (1 if per_process_limits(os.environ) else 2))
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
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


def on_starting(server):
    """Refuse per-process login limits with several workers, and harden gunicorn's own answers
    (see app.security.server); in the master, before any worker starts."""
    from app.security.server import harden_gunicorn

    problem = multiplied_limits_problem(server.cfg.workers, os.environ)
    if problem:
        raise RuntimeError(problem)  # gunicorn prints "Error: ..." and exits 1
    harden_gunicorn()


def multiplied_limits_problem(worker_count: int, environ) -> str | None:
    """Why `worker_count` workers must not start with these settings, or None if they may."""
    if worker_count <= 1 or not per_process_limits(environ):
        return None
    if environ.get("RATELIMIT_PER_PROCESS", "").strip().lower() in TRUE_WORDS:
        return None
    return (
        f"{worker_count} workers with RATELIMIT_STORAGE_URI=memory:// would each allow the full "
        "LOGIN_RATE_LIMIT (counters are per process). Set RATELIMIT_STORAGE_URI=redis://..., "
        "or GUNICORN_WORKERS=1 (its threads still serve requests concurrently), or "
        "RATELIMIT_PER_PROCESS=1 to accept limits multiplied by the number of workers."
    )


def post_fork(server, worker):
    """Give each worker its own database connections when the app was preloaded.

    A connection opened in the master (say, by code that queries at import time) would otherwise be
    shared by every forked worker, and interleaved traffic on one socket corrupts both sides.
    `dispose(close=False)` drops the inherited pool without closing the master's sockets, as
    SQLAlchemy recommends after fork.
    """
    if server.cfg.preload_app:
        dispose_engine_pools(worker.app.wsgi())


def when_ready(server):
    """Compress the static files once in the master when the app was preloaded, before the
    workers are forked: they start with the cache filled (dashapp.compression)."""
    if server.cfg.preload_app:
        warm_static_files(server.app.wsgi(), server.log)


def post_worker_init(worker):
    """Without a preloaded app, each worker fills its own cache before it serves."""
    if not worker.cfg.preload_app:
        warm_static_files(worker.wsgi, worker.log)


def warm_static_files(flask_app, log) -> None:
    """Fill `flask_app`'s cache of compressed static files, if it is stockdash's (the first-load
    benchmark serves a plain Dash app with this file too). A failure is logged, not raised:
    the files are then compressed on their first request, as without this step."""
    if "static_compression_cache" not in getattr(flask_app, "extensions", {}):
        return
    from dashapp.compression import warm_static_cache  # the app is importable by now

    try:
        paths = warm_static_cache(flask_app)
    except Exception:  # serving matters more than a warm cache
        log.exception("stockdash: static files not compressed ahead")
    else:
        log.info("stockdash: %d static files compressed ahead", len(paths))


def dispose_engine_pools(flask_app) -> None:
    """Replace the connection pool of every SQLAlchemy engine bound to `flask_app`."""
    sqlalchemy = getattr(flask_app, "extensions", {}).get("sqlalchemy")
    if sqlalchemy is None:
        return
    with flask_app.app_context():
        for engine in sqlalchemy.engines.values():
            engine.dispose(close=False)
