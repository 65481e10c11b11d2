"""Benchmark `/healthcheck/` on PostgreSQL against a bare Flask route and a pool-less variant.

Run from the project root:

    .venv/bin/python bench/healthcheck.py [--rounds 3] [--duration 10] [--workers 2] [--quick]

Four variants are served in turn by gunicorn with identical settings (the project's
gunicorn.conf.py: gthread workers with its default threads; access log to /dev/null) on
127.0.0.1, ports 18000-18099:

* ``hello``       a bare Flask app whose only route answers "hello" (the ceiling);
* ``healthcheck`` the real app (``app.create_app()``) as configured by default: one shared
                  check per process, whose result answers the polls of the next second;
* ``uncached``    the real app with HEALTHCHECK_CACHE_SECONDS=0: every poll waits for a check of
                  its own (one at a time per process), from the pool;
* ``newconn``     ``uncached`` with ``poolclass=NullPool``, so every check opens and closes a
                  PostgreSQL connection.

wrk drives each with as many connections as gunicorn has workers. The variants run interleaved,
round after round, and every ratio is taken within one round: on a shared, noisy machine, figures
measured seconds apart compare better than figures from separate sessions. The script prints a
table and PASS/MISS against the targets (healthcheck >= 0.5x hello and p99 <= 50 ms; uncached
>= 3x newconn, the pool's worth) and always exits 0: it measures, it does not test.

The module doubles as gunicorn's app module: ``healthcheck:hello_app()`` and friends (bench/ is on
gunicorn's path) are the factories gunicorn calls in each worker.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import Flask
from harness import (
    bench_config,
    gunicorn_serving,
    option_parser,
    parse_options,
    rounds,
    scratch_database,
    server_environment,
    verdict,
)

WRK = "/usr/bin/wrk"
PORT_RANGE = range(18000, 18100)

TARGET_VS_HELLO = 0.5
TARGET_VS_NEWCONN = 3.0
TARGET_P99_MS = 50.0


@dataclass(frozen=True)
class Variant:
    """One way of serving the benchmarked request: the gunicorn app spec and the path to load."""

    name: str
    app_spec: str
    path: str


VARIANTS = (
    Variant("hello", "healthcheck:hello_app()", "/hello/"),
    Variant("healthcheck", "healthcheck:pooled_app()", "/healthcheck/"),
    Variant("uncached", "healthcheck:uncached_app()", "/healthcheck/"),
    Variant("newconn", "healthcheck:new_connection_app()", "/healthcheck/"),
)


@dataclass(frozen=True)
class Result:
    """What one wrk run measured."""

    variant: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad_responses: int
    load: float


# --- gunicorn app factories (called inside the gunicorn workers) -----------------------------


def hello_app() -> Flask:
    """A bare Flask app with one plain-text route: the framework and server cost alone."""
    hello = Flask(__name__)

    @hello.route("/hello/")
    def say_hello():
        return "hello\n", 200, {"Content-Type": "text/plain"}

    return hello


def pooled_app() -> Flask:
    """The real app exactly as `wsgi.py` builds it, minus the .env file (the bench sets the env)."""
    from app import create_app

    return create_app()


def uncached_app() -> Flask:
    """The real app with no shared result: every poll waits for a check of its own."""
    from app import create_app

    return create_app({"HEALTHCHECK_CACHE_SECONDS": 0})


def new_connection_app() -> Flask:
    """The uncached app with its connection pool turned off: one new PostgreSQL session per
    check.

    The engine options are the app's own (pre-ping, connect and statement timeouts) except
    `pool_timeout`, which NullPool does not accept because it never makes anyone wait.
    """
    from sqlalchemy.pool import NullPool

    from app import create_app
    from app.config import engine_options, normalise_database_url

    url = normalise_database_url(os.environ["DATABASE_URL"])
    options = engine_options(url, os.environ)
    options.pop("pool_timeout", None)
    options["poolclass"] = NullPool
    return create_app({"SQLALCHEMY_ENGINE_OPTIONS": options, "HEALTHCHECK_CACHE_SECONDS": 0})


# --- the database ---------------------------------------------------------------------------


def prepare_schema(database_url: str) -> None:
    """Run the migrations and insert the one row the healthcheck query reads."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.models import StockPrice

    app = create_app(bench_config(database_url))
    with app.app_context():
        upgrade()
        db.session.add(StockPrice(ticker="BENCH", time=datetime(2024, 1, 2), close=100.0))
        db.session.commit()
        db.engine.dispose()


# --- wrk -------------------------------------------------------------------------------------


LATENCY_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_latency(text: str, percentile: int) -> float:
    """Read one line of wrk's `--latency` distribution, in milliseconds."""
    match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"no {percentile}% line in wrk output:\n{text}")
    return float(match.group(1)) * LATENCY_UNITS_MS[match.group(2)]


def parse_wrk(variant: str, text: str, load: float) -> Result:
    """Turn wrk's report into a Result; errors and non-2xx answers are counted, not hidden."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in", text, re.MULTILINE)
    if rate is None or total is None:
        raise ValueError(f"unexpected wrk output:\n{text}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    bad_responses = int(bad.group(1)) if bad else 0
    if errors:
        bad_responses += sum(int(n) for n in errors.groups())
    return Result(
        variant=variant,
        requests_per_s=float(rate.group(1)),
        p50_ms=parse_latency(text, 50),
        p99_ms=parse_latency(text, 99),
        requests=int(total.group(1)),
        bad_responses=bad_responses,
        load=load,
    )


def run_wrk(url: str, connections: int, duration: int) -> str:
    """Run wrk with `connections` open connections on 2 threads (fewer if connections < 2)."""
    threads = max(1, min(2, connections))
    command = [
        WRK, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
        url,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def measure(variant: Variant, args: argparse.Namespace, env: dict, workdir: Path) -> Result:
    """Serve `variant`, warm it up, measure it with wrk, stop the server."""
    log = workdir / f"gunicorn-{variant.name}.log"
    # Every variant gets exactly the same server settings: gunicorn.conf.py's, but the workers.
    options = ("--workers", str(args.workers))
    with gunicorn_serving(variant.app_spec, PORT_RANGE, env, log, variant.path, options) as base:
        url = base + variant.path
        # Warm-up: every worker imports lazily, fills its pool and its caches before we count.
        run_wrk(url, args.workers, args.warmup)
        output = run_wrk(url, args.workers, args.duration)
        return parse_wrk(variant.name, output, os.getloadavg()[0])


# --- report ----------------------------------------------------------------------------------


def summarise(by_variant: dict[str, list[Result]], args: argparse.Namespace) -> str:
    """The per-run table, the per-variant summary and the ratios against the targets."""
    # In the order they ran: round after round, every variant in each.
    results = [r for round_results in zip(*by_variant.values(), strict=True) for r in round_results]
    # `load` is the 1-minute load average when the run ended: a high one flags a noisy run.
    lines = [
        f"{'round':>5}  {'variant':<12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'requests':>9} {'errors':>6} {'load':>5}"
    ]
    per_round = len(VARIANTS)
    for index, result in enumerate(results):
        lines.append(
            f"{index // per_round + 1:>5}  {result.variant:<12} {result.requests_per_s:>9.1f} "
            f"{result.p50_ms:>8.2f} {result.p99_ms:>8.2f} {result.requests:>9} "
            f"{result.bad_responses:>6} {result.load:>5.1f}"
        )

    mean_rate = {n: statistics.fmean(r.requests_per_s for r in rs) for n, rs in by_variant.items()}
    lines += [
        "",
        f"Summary over {args.rounds} round(s) of {args.duration} s, {args.workers} gthread "
        f"workers, {args.workers} connections:",
        f"{'variant':<12} {'mean req/s':>10} {'median p50':>11} {'worst p99':>10}",
    ]
    for name, rs in by_variant.items():
        lines.append(
            f"{name:<12} {mean_rate[name]:>10.1f} "
            f"{statistics.median(r.p50_ms for r in rs):>11.2f} {max(r.p99_ms for r in rs):>10.2f}"
        )

    # Ratios are taken round by round (side by side); the median resists a round in which other
    # work on the machine slowed one variant down more than the others.
    by_round = [results[i : i + per_round] for i in range(0, len(results), per_round)]
    vs_hello = [rate(r, "healthcheck") / rate(r, "hello") for r in by_round]
    uncached_vs_hello = [rate(r, "uncached") / rate(r, "hello") for r in by_round]
    vs_newconn = [rate(r, "uncached") / rate(r, "newconn") for r in by_round]
    worst_p99 = max(r.p99_ms for r in by_variant["healthcheck"])
    uncached_p99 = max(r.p99_ms for r in by_variant["uncached"])
    ratio_hello = statistics.median(vs_hello)
    ratio_newconn = statistics.median(vs_newconn)
    lines += [
        "",
        "Targets (ratios: median of the per-round ratios; each round's in brackets):",
        f"  healthcheck / hello   = {ratio_hello:5.2f}x  (target >= {TARGET_VS_HELLO}x)  "
        f"{verdict(ratio_hello >= TARGET_VS_HELLO)}  [{', '.join(f'{x:.2f}' for x in vs_hello)}]",
        f"  uncached / newconn    = {ratio_newconn:5.2f}x  (target >= {TARGET_VS_NEWCONN}x)  "
        f"{verdict(ratio_newconn >= TARGET_VS_NEWCONN)}  "
        f"[{', '.join(f'{x:.2f}' for x in vs_newconn)}]",
        f"  healthcheck worst p99 = {worst_p99:5.2f} ms (target <= {TARGET_P99_MS} ms)  "
        f"{verdict(worst_p99 <= TARGET_P99_MS)}",
        f"  (uncached / hello     = {statistics.median(uncached_vs_hello):5.2f}x, "
        f"worst p99 {uncached_p99:.2f} ms: for comparison, no target)",
    ]
    if any(r.bad_responses for r in results):
        lines.append("  WARNING: errors or non-2xx answers in some runs; those figures are suspect")
    return "\n".join(lines)


def rate(round_results: list[Result], variant: str) -> float:
    """Requests per second of `variant` within one round."""
    return next(r.requests_per_s for r in round_results if r.variant == variant)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; the defaults are what docs/benchmarks.md reports."""
    parser = option_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per run (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    return parse_options(parser, argv, rounds=1, duration=2, warmup=1)


def main(argv: list[str] | None = None) -> int:
    """Set up the scratch database, measure every variant round by round, print the report."""
    args = parse_args(argv)
    with scratch_database("stockdash_bench") as database_url:
        env = server_environment(database_url, dict(os.environ))
        prepare_schema(database_url)
        with tempfile.TemporaryDirectory(prefix="stockdash-bench-") as workdir:
            results = rounds(
                args.rounds,
                {v.name: lambda v=v: measure(v, args, env, Path(workdir)) for v in VARIANTS},
            )
    print(summarise(results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
