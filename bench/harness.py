"""What every benchmark shares: options, a scratch PostgreSQL database with real prices, gunicorn
started and stopped the same way for every variant, Chromium, side-by-side timing, and tables.

Run the scripts from the project root with the test virtualenv (`make test` installs it), e.g.

    .venv/bin/python bench/series_bench.py --quick

`--quick` runs a script once on small sizes: a check that it still works, not a measurement.
The real price file is found as the tests find it: `STOCKDASH_TEST_DATA`, by default
`../shared/data/sp500_daily_2013_2018.csv.gz` beside the project (tests/support/data.py). The
PostgreSQL server is the tests' too: `TEST_POSTGRES_ADMIN_URL`, by default the local one.

What a benchmark and a test both need (Dash's callback protocol, the data files, scratch
databases, Chromium's options) lives in tests/support, and this module imports it from there:
the tests are the larger user and are always present where a benchmark runs, whereas tests
importing from bench/ would make the suite depend on scripts it never runs.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))  # `app`, `dashapp` and `tests` live at the project root

from tests.support.apps import make_config  # noqa: E402
from tests.support.data import (  # noqa: E402
    TEST_DATA_VARIABLE,
    real_price_file,
    write_minute_bars,
    write_subset,
)

# Re-exported: the scripts take the scratch database from here, like everything else.
from tests.support.databases import POSTGRES_ADMIN_URL, scratch_database  # noqa: E402, F401

VENV_BIN = Path(sys.executable).parent
BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = secrets.token_urlsafe(12)


# --- options and data ------------------------------------------------------------------------


def option_parser(
    doc: str, runs: int | None = None, what: str = "timed runs per variant"
) -> argparse.ArgumentParser:
    """A parser described by the first line of the script's `doc`, with `--runs` (default
    `runs`, meaning `what`) unless `runs` is None."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if runs is not None:
        parser.add_argument("--runs", type=int, default=runs, help=f"{what} ({runs})")
    return parser


def parse_options(
    parser: argparse.ArgumentParser, argv: list[str] | None = None, **quick: Any
) -> argparse.Namespace:
    """Parse the command line, with `--quick` setting the options named in `quick` to those
    values (one run, small sizes: to check that the script works, not to measure)."""
    sizes = ", ".join(f"--{name.replace('_', '-')} {value}" for name, value in quick.items())
    parser.add_argument(
        "--quick", action="store_true", help=f"check the script works: {sizes} (not a measurement)"
    )
    options = parser.parse_args(argv)
    if options.quick:
        for name, value in quick.items():
            setattr(options, name, value)
    return options


def require_real_file() -> Path:
    """The real price file; exit with a clear message when it is not there."""
    path = real_price_file()
    if not path.exists():
        sys.exit(f"the real price file is not at {path} (set {TEST_DATA_VARIABLE})")
    return path


# --- the app and its database ----------------------------------------------------------------


def bench_config(database_url: str, **overrides) -> dict:
    """App configuration for a benchmark in this process: production settings (not TESTING),
    no rate limit (a benchmark sends many requests from one address), quiet logs."""
    return make_config(
        database_url,
        TESTING=False,
        SECRET_KEY=secrets.token_hex(16),
        RATELIMIT_ENABLED=False,
        **overrides,
    )


def migrate(app) -> None:
    """Apply the migrations to the app's database."""
    import flask_migrate

    from app.extensions import db

    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


def prepare_database(app, csv_paths: list[Path]) -> None:
    """Migrate, import `csv_paths` with the real import command, create the bench user, and
    ANALYZE the prices so that the planner knows their size."""
    from app.extensions import db

    migrate(app)
    runner = app.test_cli_runner()
    for path in csv_paths:
        result = runner.invoke(args=["prices", "import", str(path)])
        if result.exit_code != 0:
            raise RuntimeError(f"import of {path} failed:\n{result.output}")
    result = runner.invoke(
        args=["users", "create", "--email", BENCH_EMAIL, "--first-name", "Bench",
              "--last-name", "Mark", "--password-stdin"],
        input=BENCH_PASSWORD + "\n",
    )  # fmt: skip
    if result.exit_code != 0:
        raise RuntimeError(f"creating the bench user failed:\n{result.output}")
    with app.app_context():
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE stock_prices")
        db.engine.dispose()


@contextmanager
def database_with_prices(prefix: str, tickers: tuple[str, ...], minute_bars: bool = False):
    """A scratch database (see `scratch_database`) holding the real daily prices of `tickers`
    (and, with `minute_bars`, a year of one-minute bars of MINUTE), prepared as
    `prepare_database` does; yields its URL."""
    from app import create_app

    real_file = require_real_file()
    with scratch_database(prefix) as url:
        with tempfile.TemporaryDirectory(prefix="stockdash-bench-") as workdir:
            files = [Path(workdir) / "daily.csv"]
            write_subset(real_file, files[0], tickers)
            if minute_bars:
                files.append(Path(workdir) / "minutes.csv")
                write_minute_bars(files[-1])
            prepare_database(create_app(bench_config(url)), files)
        yield url


# --- gunicorn --------------------------------------------------------------------------------


def server_environment(database_url: str, base: dict[str, str]) -> dict[str, str]:
    """The environment gunicorn gets: `base` (the caller's) with the app's settings for a
    benchmark, and without what could make one variant differ from another."""
    env = {
        **base,
        "SECRET_KEY": secrets.token_hex(16),
        "DATABASE_URL": database_url,
        "RATELIMIT_ENABLED": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for unwanted in ("LOG_FILE", "MAIL_SERVER", "PROXY_FIX", "GUNICORN_CMD_ARGS"):
        env.pop(unwanted, None)
    return env


def free_port(ports: range) -> int:
    """The first port of `ports` on 127.0.0.1 that nothing listens on right now."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def start_gunicorn(
    app_spec: str, port: int, env: dict, log: Path, options: tuple[str, ...] = ()
) -> subprocess.Popen:
    """gunicorn with the project's gunicorn.conf.py serving `app_spec` (a module of bench/ or the
    project root) on 127.0.0.1:`port`; `options` are added before the app. No access log: it
    would cost every variant the same but add noise."""
    command = [
        str(VENV_BIN / "gunicorn"),
        "--config", str(PROJECT_ROOT / "gunicorn.conf.py"),
        "--chdir", str(PROJECT_ROOT),
        "--pythonpath", str(BENCH_DIR),
        "--bind", f"127.0.0.1:{port}",
        "--access-logfile", "/dev/null",
        "--error-logfile", str(log),
        *options,
        app_spec,
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def stop_gunicorn(process: subprocess.Popen) -> None:
    """SIGTERM the master (it stops its workers gracefully) and wait; kill it if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_serving(
    url: str, process: subprocess.Popen, log: Path, timeout: float = 60, any_status: bool = False
) -> None:
    """Poll `url` until it answers 200 (or anything at all, with `any_status`: the dashboard
    answers anonymous users 302), so that no measure includes the workers' start-up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited early:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback URL)
                if response.status == 200:
                    return
        except urllib.error.HTTPError:
            if any_status:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextmanager
def gunicorn_serving(
    app_spec: str,
    ports: range,
    env: dict,
    log: Path,
    ready_path: str = "/",
    options: tuple[str, ...] = (),
    any_status: bool = False,
) -> Iterator[str]:
    """`app_spec` served by gunicorn on a free port of `ports` until the block ends; yields the
    base URL once `ready_path` answers (see `wait_until_serving`)."""
    port = free_port(ports)
    base = f"http://127.0.0.1:{port}"
    process = start_gunicorn(app_spec, port, env, log, options)
    try:
        wait_until_serving(base + ready_path, process, log, any_status=any_status)
        yield base
    finally:
        stop_gunicorn(process)


# --- Chromium ---------------------------------------------------------------------------------


def start_chromium(window_size: str, logs: tuple[str, ...]):
    """A new headless Chromium with an empty profile, started exactly as the browser tests
    start theirs (tests/support/browser.py)."""
    from tests.support.browser import start_chromium as start

    return start(window_size=window_size, logs=logs)


# --- measuring -------------------------------------------------------------------------------


@dataclass
class Timing:
    """The seconds of every timed call of one function, and what its last call returned."""

    seconds: list[float]
    result: Any

    @property
    def median(self) -> float:
        """The median of the timed calls."""
        return statistics.median(self.seconds)


def alternate(functions: dict[str, Callable[[], Any]], runs: int) -> dict[str, Timing]:
    """Call each function once to warm up, then `runs` times each, taking turns, so that a busy
    moment of the machine slows them alike; time every call."""
    results = {name: function() for name, function in functions.items()}
    seconds: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(runs):
        for name, function in functions.items():
            started = time.perf_counter()
            results[name] = function()
            seconds[name].append(time.perf_counter() - started)
    return {name: Timing(seconds[name], results[name]) for name in functions}


def rounds(runs: int, variants: dict[str, Callable[[], Any]]) -> dict[str, list[Any]]:
    """Run every variant once per round, in order, `runs` rounds; each returns its own measure
    (a variant that starts a server or a browser times only what it means to)."""
    measures: dict[str, list[Any]] = {name: [] for name in variants}
    for number in range(1, runs + 1):
        for name, measure in variants.items():
            print(f"round {number}: {name} ...", file=sys.stderr, flush=True)
            measures[name].append(measure())
    return measures


# --- reporting -------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    """PASS or MISS, against a target."""
    return "PASS" if ok else "MISS"


def markdown_table(header: list[str], align: str, rows: list[list[str]]) -> list[str]:
    """The lines of a Markdown table; `align` has one letter per column, `l` or `r`."""
    rule = "".join("---:|" if side == "r" else "---|" for side in align)
    return [
        "| " + " | ".join(header) + " |",
        "|" + rule,
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
