"""The stockdash Flask application factory."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import load_config
from app.extensions import db, migrate

PACKAGE_ROOT = os.path.dirname(os.path.abspath(__file__))
PROJECT_ROOT = os.path.dirname(PACKAGE_ROOT)


class ConfigurationError(RuntimeError):
    """The environment does not describe a runnable app (e.g. SECRET_KEY missing)."""


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, then apply `config` (tests pass their settings here)."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("STOCKDASH_INSTANCE_PATH")
        or os.path.join(PROJECT_ROOT, "instance"),
        instance_relative_config=True,
        template_folder=os.path.join(PROJECT_ROOT, "templates"),
    )
    app.config.from_mapping(load_config(os.environ, app.instance_path))
    if config:
        app.config.from_mapping(config)
    require_secret_key(app)
    os.makedirs(app.instance_path, exist_ok=True)

    register_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_dashboard(app)
    register_healthcheck(app)
    register_proxy_fix(app)
    return app


def require_secret_key(app: Flask) -> None:
    """Refuse to start without SECRET_KEY, except while debugging or testing."""
    if app.config.get("SECRET_KEY"):
        return
    if app.debug or app.testing:
        # A throwaway key: sessions simply do not survive a restart of a debug server.
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        return
    raise ConfigurationError(
        "SECRET_KEY is not set. Put a long random value in the SECRET_KEY environment variable "
        "(or in .env, or a file named by SECRET_KEY_FILE), e.g. "
        "python -c 'import secrets; print(secrets.token_hex(32))'."
    )


def register_logging(app: Flask) -> None:
    """Logs to stdout, a rotating file when LOG_FILE is set, e-mail to ADMINS on errors."""
    from app.logging import configure_logging

    configure_logging(app)


def register_extensions(app: Flask) -> None:
    """Bind the extensions from `app.extensions` to this app."""
    from app.accounts.mail import init_mail
    from app.auth.limits import init_limits
    from app.security.csrf import init_csrf
    from app.security.headers import init_security_headers
    from app.security.login import init_login

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(PROJECT_ROOT, "migrations"))
    init_limits(app)
    init_login(app)
    init_mail(app)
    init_csrf(app, exempt_prefix="/dash/")
    init_security_headers(app)


def register_blueprints(app: Flask) -> None:
    """Attach the site's pages, and the navbar they share with the dashboard."""
    from app.accounts.activity import init_activity
    from app.accounts.reset import bp as reset_bp
    from app.accounts.routes import bp as accounts_bp
    from app.auth import bp as auth_bp
    from app.humanize import init_humanize
    from app.main import bp as main_bp
    from app.navigation import init_navigation
    from app.notes.routes import bp as notes_bp
    from app.tickers.routes import bp as tickers_bp

    init_navigation(app)
    init_humanize(app)
    init_activity(app)

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(reset_bp)
    app.register_blueprint(tickers_bp)
    app.register_blueprint(notes_bp)


def register_errorhandlers(app: Flask) -> None:
    """Custom error pages in the site's layout."""
    from app.errors import init_errorhandlers

    init_errorhandlers(app)


def register_commands(app: Flask) -> None:
    """`flask users ...` (and the other command groups)."""
    from app.cli import users_cli
    from app.prices.cli import prices_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(prices_cli)


def register_dashboard(app: Flask) -> None:
    """Mount the Dash app at /dash/."""
    from dashapp import init_dashboard

    init_dashboard(app)


def register_healthcheck(app: Flask) -> None:
    """Serve /healthcheck/ in front of Flask's request handling (see app.health)."""
    from app.auth.limits import EXTENSION_KEY
    from app.health import HealthcheckMiddleware
    from app.security.headers import set_security_headers

    with app.app_context():
        engine = db.engine
    components = {}
    if app.config["RATELIMIT_ENABLED"]:
        components["ratelimit:storage"] = app.extensions[EXTENSION_KEY].health_check
    app.wsgi_app = HealthcheckMiddleware(
        app.wsgi_app,
        engine,
        lambda response, is_secure: set_security_headers(app, response.headers, is_secure),
        app.logger,
        cache_seconds=app.config["HEALTHCHECK_CACHE_SECONDS"],
        components=components,
    )


def register_proxy_fix(app: Flask) -> None:
    """Trust X-Forwarded-* from PROXY_FIX proxies (e.g. Traefik), so redirects and secure
    cookies use the client's scheme and host and rate limits see the client's address."""
    hops = app.config["PROXY_FIX"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
