"""gunicorn.conf.py: its defaults, the environment it follows, and the post_fork hook."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from tests.deploy.support import environment, gunicorn_settings, load_yaml, parse_duration


def test_gunicorn_defaults_shut_down_gracefully_inside_the_grace_period(monkeypatch):
    settings = gunicorn_settings(monkeypatch)
    assert settings["bind"] == "0.0.0.0:8000"
    assert settings["worker_tmp_dir"] == "/dev/shm"  # noqa: S108  (what the config sets)
    assert settings["accesslog"] == "-"
    assert settings["control_socket_disable"] is True
    assert settings["preload_app"] is True
    for name in ("docker-compose.yml", "docker-stack.yml"):
        web = load_yaml(name)["services"]["web"]
        graceful = int(
            environment(web).get("GUNICORN_GRACEFUL_TIMEOUT", settings["graceful_timeout"])
        )
        assert parse_duration(web["stop_grace_period"]) > graceful, name


def test_gunicorn_serves_with_threads_and_one_worker_per_process_counters(monkeypatch):
    # Before: 2 sync workers (one request per process) whatever the rate-limit storage.
    settings = gunicorn_settings(monkeypatch)
    assert (settings["worker_class"], settings["threads"]) == ("gthread", 4)
    assert settings["workers"] == 1  # memory:// counts failed logins per process
    shared = gunicorn_settings(monkeypatch, RATELIMIT_STORAGE_URI="redis://redis:6379/0")
    assert shared["workers"] == 2


@pytest.mark.parametrize(
    ("workers", "env", "refused"),
    [
        (2, {}, True),
        (3, {"RATELIMIT_STORAGE_URI": "memory://"}, True),
        (1, {}, False),
        (2, {"RATELIMIT_STORAGE_URI": "redis://redis:6379/0"}, False),
        (2, {"RATELIMIT_PER_PROCESS": "1"}, False),
        (2, {"RATELIMIT_ENABLED": "0"}, False),
    ],
)
def test_several_workers_with_per_process_counters_are_refused(monkeypatch, workers, env, refused):
    problem = gunicorn_settings(monkeypatch)["multiplied_limits_problem"](workers, env)
    assert (problem is not None) == refused
    if refused:
        assert "RATELIMIT_STORAGE_URI=redis://" in problem and "RATELIMIT_PER_PROCESS=1" in problem


def test_gunicorn_settings_follow_the_environment(monkeypatch):
    settings = gunicorn_settings(
        monkeypatch, GUNICORN_WORKERS="3", GUNICORN_THREADS="4", GUNICORN_PRELOAD="0"
    )
    assert (settings["workers"], settings["threads"], settings["preload_app"]) == (3, 4, False)


def test_gunicorn_post_fork_gives_each_worker_a_fresh_pool(monkeypatch, tmp_path):
    settings = gunicorn_settings(monkeypatch)
    # A bare Flask app with Flask-SQLAlchemy: the hook looks for the extension, not for stockdash.
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path}/master.db"
    database = SQLAlchemy()
    database.init_app(app)
    with app.app_context():
        database.engine.connect().close()  # the master's pool now holds a connection
        inherited = database.engine.pool
        assert inherited.checkedin() == 1
    server = SimpleNamespace(cfg=SimpleNamespace(preload_app=True))
    worker = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app))
    settings["post_fork"](server, worker)
    with app.app_context():
        assert database.engine.pool is not inherited
        assert database.engine.pool.checkedin() == 0
        database.engine.dispose()
    inherited.dispose()


def test_gunicorn_post_fork_leaves_the_pool_alone_without_preload(monkeypatch):
    settings = gunicorn_settings(monkeypatch)
    worker = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: pytest.fail("app loaded")))
    settings["post_fork"](SimpleNamespace(cfg=SimpleNamespace(preload_app=False)), worker)
