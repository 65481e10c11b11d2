"""The app as the tests configure it, and data loaded through its real commands."""

from __future__ import annotations

from pathlib import Path

from app.config import engine_options, normalise_database_url

# Every table a test may fill; emptied after each test that made an app.
TABLES = (
    "notes",
    "follows",
    "watchlist",
    "ticker_stats",
    "login_events",
    "users",
    "stock_prices_hourly",
    "stock_prices_daily",
    "stock_rollup_tickers",
    "stock_prices",
    "stock_tickers",
)


def make_config(database_url: str, **overrides) -> dict:
    """Test configuration for `database_url`, with `overrides` applied last."""
    url = normalise_database_url(database_url)
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(url, {}),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOG_LEVEL": "WARNING",
        # Every poll sees the database as it is now (tests that change it and poll again).
        "HEALTHCHECK_CACHE_SECONDS": 0,
    }
    config.update(overrides)
    return config


def load_prices(app, path: Path) -> None:
    """Import a CSV through the real `flask prices import` command."""
    result = app.test_cli_runner().invoke(args=["prices", "import", str(path)])
    assert result.exit_code == 0, result.output
