"""Every benchmark in bench/ still starts: its imports (of the app, of bench/harness.py and of
tests/support) resolve and its options parse, `--quick` included; the notes benchmark also runs
for real at tiny sizes (its checks of the pages it walks are worth running). The measurements
themselves are run by hand (docs/benchmarks.md), never timed by the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.data import TEST_DATA_VARIABLE
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


# A process forked from the one that built the default page's app, as gunicorn forks its
# workers from the master that preloaded it, gets eight requests for a script at once (its
# threads, as in a gthread worker) before any other request.
WORKER_ASKED_FOR_SCRIPTS_AT_ONCE = """
import os, sys, threading
sys.path.insert(0, "bench")
from first_load_bench import default_dash_app
server = default_dash_app(compress=True)
if os.fork() == 0:
    start, statuses = threading.Barrier(8), []
    def ask():
        client = server.test_client()
        start.wait()
        statuses.append(client.get("/_dash-component-suites/dash/deps/react@18.3.1.min.js").status_code)
    threads = [threading.Thread(target=ask) for _ in range(8)]
    [thread.start() for thread in threads]
    [thread.join() for thread in threads]
    print(statuses)
    os._exit(0 if statuses == [200] * 8 else 3)
_, status = os.wait()
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_every_worker_of_the_default_page_serves_its_scripts(real_file):
    """The first-load benchmark's default Dash page: a new worker whose first requests are
    several at once for scripts answers them all (Dash marks its set-up done before it has
    registered the scripts it serves, so threads arriving meanwhile got 500s and, in 4 first
    loads in 10, the page never drew)."""
    result = subprocess.run(
        [sys.executable, "-c", WORKER_ASKED_FOR_SCRIPTS_AT_ONCE],
        capture_output=True,
        text=True,
        cwd=BENCH.parent,
        env={**os.environ, TEST_DATA_VARIABLE: str(real_file)},
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
