"""Every benchmark in bench/ still starts: its imports (of the app, of bench/harness.py and of
tests/support) resolve and its options parse, `--quick` included; the notes benchmark also runs
for real at tiny sizes (its checks of the pages it walks are worth running). The measurements
themselves are run by hand (docs/benchmarks.md), never timed by the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import postgres_admin_connection

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(path.name for path in BENCH.glob("*.py") if path.name != "harness.py")


@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_script_starts(script):
    result = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"],
        capture_output=True,
        text=True,
        cwd=BENCH.parent,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "--quick" in result.stdout


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_notes_bench_quick_run(backend):
    """A real run of the notes benchmark at tiny sizes (--quick) through the app's pages: the
    pages walked by rel=next are the reference query's notes in order, a note written while
    walking neither repeats nor skips one, and the plans are printed. Timings are not judged."""
    if backend == "postgresql":
        postgres_admin_connection().close()  # skips (fails on CI) without a server
    result = subprocess.run(
        [sys.executable, str(BENCH / "notes_bench.py"), "--quick",
         *(["--sqlite"] if backend == "sqlite" else [])],
        capture_output=True,
        text=True,
        cwd=BENCH.parent,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.count("none repeated: PASS") == 2
    assert result.stdout.count("neither repeats nor skips: PASS") == 2
    assert "### feed page 6" in result.stdout and "### explore page 6" in result.stdout
