"""Configuration read from the environment.

Every variable is listed in `.env.example`. `load_config()` is a pure function of a mapping so that
tests can build a configuration without touching `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

DEFAULT_LOGIN_RATE_LIMIT = "5 per minute;50 per hour"
DEFAULT_REGISTER_RATE_LIMIT = "10 per hour"
DEFAULT_RESET_RATE_LIMIT = "5 per hour"  # reset e-mails, per client address and per address
DEFAULT_NOTE_RATE_LIMIT = "30 per hour"  # notes written, per account
MAIL_TIMEOUT_S = 5.0
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    """Read a boolean variable; an unrecognised word is an error rather than a silent default."""
    raw = environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def env_int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    """Read an integer variable, refusing values below `minimum` with a message naming it."""
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number; got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value}")
    return value


def env_seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    """Read a non-negative number of seconds (fractions allowed)."""
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds; got {raw!r}") from None
    if not 0 <= value < float("inf"):
        raise ValueError(f"{name} must be a number of seconds, 0 or more; got {raw!r}")
    return value


def env_or_file(environ: Mapping[str, str], name: str) -> str | None:
    """Return NAME, or the stripped content of the file named by NAME_FILE (Docker secrets)."""
    value = environ.get(name)
    if value:
        return value
    path = environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return None


def normalise_database_url(url: str) -> str:
    """Map the URL forms operators paste (postgres://, postgresql://) onto the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def engine_options(url: str, environ: Mapping[str, str]) -> dict:
    """SQLAlchemy engine options that keep every query bounded in time.

    `pool_pre_ping` makes the pool replace connections that PostgreSQL closed (restart, failover,
    `pg_terminate_backend`) instead of failing the next request. The connect, pool and statement
    timeouts are what let `/healthcheck/` answer within 5 s when the database is down or busy.
    """
    connect_timeout = env_int(environ, "DB_CONNECT_TIMEOUT", 3, minimum=1)
    options: dict = {"pool_pre_ping": True}
    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    if not in_memory:  # an in-memory SQLite database has one connection and no pool to wait on
        options["pool_timeout"] = env_int(environ, "DB_POOL_TIMEOUT", 3, minimum=1)
    if url.startswith("postgresql"):
        statement_timeout_ms = env_int(environ, "DB_STATEMENT_TIMEOUT_MS", 30_000, minimum=0)
        options["pool_recycle"] = 1800
        options["connect_args"] = {
            "connect_timeout": connect_timeout,
            "options": f"-c statement_timeout={statement_timeout_ms}",
            "application_name": "stockdash",
            # A server that vanishes without closing connections (network cut, dead host) is
            # noticed within seconds instead of the kernel's many minutes of retransmissions.
            "tcp_user_timeout": connect_timeout * 1000,
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 5,
            "keepalives_count": 3,
        }
    elif url.startswith("sqlite"):
        # `timeout` is SQLite's busy timeout: how long a reader waits for a writer's lock.
        options["connect_args"] = {"timeout": connect_timeout}
    return options


def load_config(environ: Mapping[str, str], instance_path: str) -> dict:
    """Build the Flask configuration from environment variables."""
    database_url = env_or_file(environ, "DATABASE_URL") or (
        "sqlite:///" + os.path.join(instance_path, "stockdash.db")
    )
    database_url = normalise_database_url(database_url)
    remember_days = env_int(environ, "REMEMBER_DAYS", 1, minimum=1)
    secure_cookies = env_flag(environ, "SESSION_COOKIE_SECURE", False)
    admins = [a.strip() for a in environ.get("ADMINS", "").split(",") if a.strip()]
    trusted_hosts = [h.strip() for h in environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()]

    return {
        "SECRET_KEY": env_or_file(environ, "SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url, environ),
        "RATELIMIT_STORAGE_URI": environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": env_flag(environ, "RATELIMIT_ENABLED", True),
        "LOGIN_RATE_LIMIT": environ.get("LOGIN_RATE_LIMIT", DEFAULT_LOGIN_RATE_LIMIT),
        "REGISTER_RATE_LIMIT": environ.get("REGISTER_RATE_LIMIT", DEFAULT_REGISTER_RATE_LIMIT),
        "RESET_RATE_LIMIT": environ.get("RESET_RATE_LIMIT", DEFAULT_RESET_RATE_LIMIT),
        "NOTE_RATE_LIMIT": environ.get("NOTE_RATE_LIMIT", DEFAULT_NOTE_RATE_LIMIT),
        # How long one healthcheck result answers every poll (app.health); 0: each poll waits
        # for a check of its own (still one at a time per process).
        "HEALTHCHECK_CACHE_SECONDS": env_seconds(environ, "HEALTHCHECK_CACHE_SECONDS", 1.0),
        "ALLOW_REGISTRATION": env_flag(environ, "ALLOW_REGISTRATION", True),
        # Entries on a page of every paginated list (app.pagination).
        "PER_PAGE": env_int(environ, "PER_PAGE", 20, minimum=1),
        # How long a password-reset link works (app.accounts.tokens).
        "RESET_TOKEN_HOURS": env_int(environ, "RESET_TOKEN_HOURS", 2, minimum=1),
        "REMEMBER_DAYS": remember_days,
        "REMEMBER_COOKIE_DURATION": timedelta(days=remember_days),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        # CSRF is checked by our own before_request so that Dash's JSON callbacks can be left out
        # by path (see app.security.csrf); Flask-WTF's automatic check would answer them 400.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,
        # Compress what the dashboard downloads (scripts, figure JSON), not HTML pages, which
        # carry CSRF tokens next to reflected input (the BREACH attack needs both compressed).
        "COMPRESS_MIMETYPES": [
            "application/json",
            "application/javascript",
            "text/javascript",
            "text/css",
            "image/svg+xml",
        ],
        # Streams are never compressed: Flask-Compress would leave their files open. Static
        # files are compressed once and kept (dashapp.compression).
        "COMPRESS_STREAMS": False,
        "MAX_CONTENT_LENGTH": env_int(environ, "MAX_CONTENT_LENGTH", 1024 * 1024, minimum=1024),
        "LOG_LEVEL": environ.get("LOG_LEVEL", "INFO").upper(),
        "LOG_FILE": environ.get("LOG_FILE") or None,
        "MAIL_SERVER": environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": env_int(environ, "MAIL_PORT", 25, minimum=1),
        "MAIL_USE_TLS": env_flag(environ, "MAIL_USE_TLS", False),
        "MAIL_USERNAME": environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env_or_file(environ, "MAIL_PASSWORD"),
        "MAIL_FROM": environ.get("MAIL_FROM") or None,
        # Flask-Mailman's names for the same settings (app.accounts.mail sends with it).
        "MAIL_BACKEND": "smtp",
        "MAIL_TIMEOUT": MAIL_TIMEOUT_S,
        # The site's address as its users reach it, for links in e-mails (password resets);
        # empty: the address of the request that asked (then set TRUSTED_HOSTS).
        "SITE_URL": (environ.get("SITE_URL") or "").rstrip("/") or None,
        "ADMINS": admins,
        "TRUSTED_HOSTS": trusted_hosts or None,
        "PROXY_FIX": env_int(environ, "PROXY_FIX", 0, minimum=0),
    }
