"""The import as a separate process: killed mid-way, and watched by a concurrent reader."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.config import normalise_database_url

ROOT = Path(__file__).resolve().parents[1]
TICKERS = [f"T{i:02d}" for i in range(40)]
MINUTES = 3000  # 40 x 3000 = 120,000 rows


def write_file(path: Path, close_offset: float = 0.0, minutes: int = MINUTES) -> int:
    """Minute bars for TICKERS; returns the number of rows."""
    start = datetime(2022, 1, 3, 9, 30)
    times = [(start + timedelta(minutes=m)).isoformat(" ") for m in range(minutes)]
    with path.open("w") as file:
        file.write("time,ticker,open,high,low,close,volume\n")
        for ticker in TICKERS:
            for m, stamp in enumerate(times):
                close = 100 + (m % 50) / 10 + close_offset
                file.write(f"{stamp},{ticker},{close},{close + 1},{close - 1},{close},{m}\n")
    return len(TICKERS) * minutes


# `python -c` this, the report file, then flask's arguments: runs the flask command line and
# writes the process's peak resident set (VmHWM, kB) to the report file as it exits.
PEAK_REPORTING_FLASK = """
import atexit, sys
from flask.cli import main
report = sys.argv.pop(1)
def write_peak():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(report, "w") as file:
        file.write(peak)
atexit.register(write_peak)
sys.argv[0] = "flask"
main()
"""


def import_command(*args) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "wsgi", "prices", "import", *map(str, args)]


@pytest.fixture
def env(database_url, make_app):
    """Environment for a `flask` subprocess on the current backend (make_app empties the
    tables afterwards)."""
    make_app()
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def engine(database_url):
    engine = create_engine(normalise_database_url(database_url))
    yield engine
    engine.dispose()


def count(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM stock_prices")).scalar_one()


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "Ctrl-C"])
def test_import_stopped_mid_way_leaves_whole_batches_and_a_rerun_completes(
    env, engine, tmp_path, stop
):
    source = tmp_path / "minutes.csv"
    total = write_file(source)
    batch = 2000
    process = subprocess.Popen(
        import_command("--batch-size", batch, source),
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: count(engine) > 0 or process.poll() is not None, 120, "a first batch")
        process.send_signal(stop)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    if stop == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL
    else:
        assert process.returncode == 130, err
        assert "Interrupted: every batch stored before the interruption is kept" in err
        assert "Traceback" not in err
    stored = count(engine)
    assert 0 < stored < total, "the import was not killed in the middle"
    assert stored % batch == 0  # whole batches only
    with engine.connect() as connection:
        orphans = connection.execute(
            text(
                "SELECT count(*) FROM stock_prices p WHERE NOT EXISTS "
                "(SELECT 1 FROM stock_tickers t WHERE t.ticker = p.ticker)"
            )
        ).scalar_one()
    assert orphans == 0

    rerun = subprocess.run(
        import_command("--batch-size", batch, source),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"{total} rows read, {total - stored} inserted, 0 updated, {stored} unchanged" in (
        rerun.stdout
    )
    assert count(engine) == total


def test_a_reader_never_sees_the_count_drop_during_a_reimport(env, engine, tmp_path):
    base = tmp_path / "base.csv"
    first = write_file(base, minutes=MINUTES // 2)
    loaded = subprocess.run(
        import_command(base), env=env, cwd=ROOT, capture_output=True, timeout=300, check=False
    )
    assert loaded.returncode == 0, loaded.stderr
    assert count(engine) == first

    bigger = tmp_path / "bigger.csv"
    total = write_file(bigger, close_offset=0.5)  # every old row changes; new rows interleave
    process = subprocess.Popen(
        import_command("--replace", "--batch-size", 3000, bigger),
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    try:
        while process.poll() is None:
            seen.append(count(engine))
            time.sleep(0.01)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, err
    assert f"{total - first} inserted, {first} updated" in out
    seen.append(count(engine))
    assert len(set(seen)) > 2, "the reader did not see the import in progress"
    assert min(seen) >= first
    assert seen == sorted(seen)  # never a drop
    assert seen[-1] == total


def test_a_gzip_bomb_of_one_huge_line_is_rejected_in_bounded_memory(env, engine, tmp_path):
    """A 300 kB gzip file that expands to one 300 MB line, between good rows: the line is
    rejected with its number, the rows around it are stored, and the import's peak memory (the
    child's own maximum resident set: about 130 MB) stays far below the 2.3 GB it used to take."""
    source = tmp_path / "bomb.csv.gz"
    filler = b"x" * (1 << 20)
    with gzip.open(source, "wb") as file:
        file.write(b"date,open,high,low,close,volume,ticker\n")
        file.write(b"2020-01-02,1,2,0.5,1.5,1,AAA\n2020-01-03,1,2,0.5,1.5,1,AAA\n")
        file.write(b"2020-01-06,1,2,0.5,1.5,1,AAA")
        for _ in range(300):
            file.write(filler)
        file.write(b"\n2020-01-07,1,2,0.5,1.5,1,AAA\n2020-01-08,1,2,0.5,1.5,1,AAA\n")
    assert source.stat().st_size < 400_000
    # The child reports its own high-water mark: the rusage of a child also counts the pages it
    # shared with this (large) pytest process between fork and exec, VmHWM only its own.
    report = tmp_path / "peak.txt"
    measured = [*import_command(source)]
    measured[1:3] = ["-c", PEAK_REPORTING_FLASK, str(report)]
    result = subprocess.run(measured, env=env, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    size = 300 * len(filler) + len("2020-01-06,1,2,0.5,1.5,1,AAA\n")
    assert f"{source}:4: line longer than 65536 bytes ({size} bytes)" in result.stderr
    assert "5 rows read, 4 inserted, 0 updated, 0 unchanged, 1 rejected" in result.stdout
    assert count(engine) == 4
    peak = int(report.read_text()) * 1024  # VmHWM is in kB
    assert peak < 500 * 2**20, f"peak memory {peak / 2**20:.0f} MB"
