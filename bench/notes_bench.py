"""Notes feed and explore pages at depth: keyset pagination timed through the app (issue 11).

    .venv/bin/python bench/notes_bench.py [--users 1000] [--follows 50] [--tickers 500]
        [--watch 10] [--notes 1000000] [--depth 500] [--runs 30] [--sqlite]
        [--admin-url URL] [--quick]

Creates a scratch database (PostgreSQL, dropped at the end; with `--sqlite` a SQLite file in a
temporary folder and 100,000 notes unless `--notes` says otherwise), migrated by the app's
migrations, and fills it: --tickers tickers, --users analysts (one password hash, computed once,
shared by all), each following --follows others (distinct, never themselves) and watching about
--watch tickers, and --notes notes on random tickers by random authors, written at whole minutes
over two years (so that many share a timestamp and the id tie-break of the keyset is exercised),
ids in the order of writing. PostgreSQL is loaded with COPY, SQLite with executemany; then
ANALYZE (VACUUM ANALYZE on PostgreSQL, as autovacuum would leave a table that large).

Through the Flask test client of a production-configured app, logged in as analyst 1 (a typical
analyst: --follows followed, --watch watched): the home feed `/` and `/explore/`. Page 1, then
page --depth reached by following the `rel="next"` links from page 1; then page 1 and page
--depth alternately --runs times after a warm-up: p50, p90 and the ratio of the p50s. Every
page walked is checked against a reference query (the right notes, in order, none repeated).
Targets: p50 <= 30 ms per page and depth/first <= 1.5 (on PostgreSQL with 1M notes).

Stability: walk a few pages, write a note through the app's form (as a followed analyst, so it
belongs to the feed) and walk on from the links already in hand: the pages must go on exactly
where they stopped, neither repeating nor skipping a note. Query plans: the SQL each page ran is
captured as the app sends it and shown with EXPLAIN (ANALYZE, BUFFERS) (SQLite: EXPLAIN QUERY
PLAN), for the first and the deep page of both lists.
"""

from __future__ import annotations

import html
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from harness import (
    POSTGRES_ADMIN_URL,
    bench_config,
    markdown_table,
    migrate,
    option_parser,
    parse_options,
    scratch_database,
    verdict,
)
from sqlalchemy import event, insert, text

from app import create_app
from app.extensions import db
from app.models import Follow, Note, StockTicker, User, WatchlistEntry
from app.passwords import hash_password
from tests.support.users import AuthActions, csrf_token_from

TARGET_MS = 30
TARGET_RATIO = 1.5
SPAN = timedelta(days=730)  # the notes' created_at spread
PASSWORD = secrets.token_urlsafe(12)  # every analyst's: one hash for all, computed once
ANALYST = 1  # the analyst whose feed is timed
INDUSTRIES = ("Energy", "Materials", "Industrials", "Health Care", "Financials", "Utilities")
PHRASES = (
    "breaks out above the 200-day average on volume",
    "guidance cut; margins under pressure, watching support",
    "earnings beat, but the multiple already prices it in",
    "insider buying again this week",
    "dividend raised 8%, payout ratio still comfortable",
    "RSI over 70 after a five-day run; expecting a pause",
)
NOTE_ID = re.compile(r"\[note (\d+)\]")  # every generated body starts with its id
NEXT_LINK = re.compile(
    r'<a\b[^>]*\brel="next"[^>]*\bhref="([^"]+)"|<a\b[^>]*\bhref="([^"]+)"[^>]*\brel="next"'
)


# --- data --------------------------------------------------------------------------------------


@dataclass
class Sizes:
    """How much data to generate."""

    users: int
    follows: int
    tickers: int
    watch: int
    notes: int


def ticker_symbol(number: int) -> str:
    """The generated ticker number `number` (1-based)."""
    return f"T{number:04d}"


def generate(sizes: Sizes, end: datetime, seed: int = 11) -> dict[str, tuple[list[str], list]]:
    """The rows of every table, by table name: (columns, rows). Deterministic for a seed."""
    rng = random.Random(seed)
    start = end - SPAN
    password_hash = hash_password(PASSWORD)
    tickers = [ticker_symbol(n) for n in range(1, sizes.tickers + 1)]
    # Two more analysts than asked: the newcomer (following and watching nothing, no notes) and
    # a quiet analyst, who follows only the newcomer (a feed with a source but no notes).
    users = [
        (n, f"analyst{n}@example.com", "Analyst", f"No. {n}", password_hash,
         secrets.token_hex(16), start, 0, "")
        for n in range(1, sizes.users + 3)
    ]  # fmt: skip
    follows = []
    for follower in range(1, sizes.users + 1):
        others = [n for n in rng.sample(range(1, sizes.users + 1), sizes.follows + 1)
                  if n != follower][: sizes.follows]  # fmt: skip
        follows += [(follower, followed, start) for followed in others]
    follows.append((sizes.users + 2, sizes.users + 1, start))  # the quiet analyst's one follow
    watchlist = []
    for user in range(1, sizes.users + 1):
        # About --watch each; the timed analyst exactly --watch.
        low, high = sizes.watch // 2, sizes.watch * 3 // 2
        count = sizes.watch if user == ANALYST else rng.randint(low, high)
        chosen = rng.sample(tickers, min(count, len(tickers)))
        watchlist += [(user, ticker, start) for ticker in chosen]
    minutes = int(SPAN.total_seconds() // 60)
    stamps = sorted(rng.randrange(minutes) for _ in range(sizes.notes))
    notes = []
    for number, minute in enumerate(stamps, start=1):
        created = start + timedelta(minutes=minute)
        ticker = rng.choice(tickers)
        notes.append((number, rng.randint(1, sizes.users), ticker,
                      created.date() - timedelta(days=rng.randint(0, 5)),
                      f"[note {number}] {ticker}: {rng.choice(PHRASES)}", created))  # fmt: skip
    return {
        "stock_tickers": (["ticker", "name", "industry"],
                          [(t, f"Company {t}", INDUSTRIES[n % len(INDUSTRIES)])
                           for n, t in enumerate(tickers)]),
        "users": (["id", "email", "first_name", "last_name", "password_hash", "session_token",
                   "created_at", "login_count", "about_me"], users),
        "follows": (["follower_id", "followed_id", "created_at"], follows),
        "watchlist": (["user_id", "ticker", "added_at"], watchlist),
        "notes": (["id", "user_id", "ticker", "as_of", "body", "created_at"], notes),
    }  # fmt: skip


MODELS = {"stock_tickers": StockTicker, "users": User, "follows": Follow,
          "watchlist": WatchlistEntry, "notes": Note}  # fmt: skip


def load(app, tables: dict[str, tuple[list[str], list]]) -> None:
    """Store the generated rows: COPY on PostgreSQL, one executemany per table on SQLite (through
    SQLAlchemy, which writes the dates as the app reads them there); then ANALYZE."""
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        with db.engine.connect() as connection:
            if postgres:
                raw = connection.connection.driver_connection
                with raw.cursor() as cursor:
                    # The app's statement timeout is for pages, not for a load of minutes.
                    cursor.execute("SET statement_timeout = 0")
                    for table, (columns, rows) in tables.items():
                        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                            for row in rows:
                                copy.write_row(row)
                    # The ids were given: move the sequences past them for rows the app adds.
                    cursor.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), "
                                   "(SELECT max(id) FROM users))")  # fmt: skip
                    cursor.execute("SELECT setval(pg_get_serial_sequence('notes', 'id'), "
                                   "(SELECT max(id) FROM notes))")  # fmt: skip
                raw.commit()
                raw.autocommit = True
                raw.execute("VACUUM ANALYZE")
                raw.autocommit = False
            else:
                for table, (columns, rows) in tables.items():
                    rows_as_dicts = [dict(zip(columns, row, strict=True)) for row in rows]
                    connection.execute(insert(MODELS[table].__table__), rows_as_dicts)
                connection.commit()
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
        db.engine.dispose()


# --- what a page holds -------------------------------------------------------------------------

# The reference: which generated notes (ids up to :generated; the pages show their ids, not
# those of the notes the stability check writes) each list holds, newest first, written
# independently of app/notes/queries.py.
REFERENCE = {
    "feed": text(
        "SELECT id FROM notes WHERE id <= :generated AND (user_id = :me "
        "OR user_id IN (SELECT followed_id FROM follows WHERE follower_id = :me) "
        "OR ticker IN (SELECT ticker FROM watchlist WHERE user_id = :me)) "
        "ORDER BY created_at DESC, id DESC LIMIT :limit"
    ),
    "explore": text(
        "SELECT id FROM notes WHERE id <= :generated ORDER BY created_at DESC, id DESC "
        "LIMIT :limit"
    ),
}
PATHS = {"feed": "/", "explore": "/explore/"}


def reference_ids(app, page_list: str, limit: int) -> list[int]:
    """The first `limit` generated note ids of `page_list` for the analyst, by the reference
    query."""
    with app.app_context():
        params = {"me": ANALYST, "limit": limit, "generated": app.config["BENCH_NOTES"]}
        ids = list(db.session.scalars(REFERENCE[page_list], params))
        db.session.remove()
    return ids


def note_ids(page: str) -> list[int]:
    """The generated notes shown on a page, in order (their bodies start with their id)."""
    return [int(number) for number in NOTE_ID.findall(page)]


def next_link(page: str) -> str | None:
    """The href of the page's `rel="next"` link, None without one."""
    match = NEXT_LINK.search(page)
    return html.unescape(match.group(1) or match.group(2)) if match else None


def fetch(client, path: str) -> str:
    """One page's HTML; anything but a 200 is an error of the benchmark."""
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code}")
    return response.get_data(as_text=True)


@dataclass
class Walk:
    """The pages walked from page 1: each page's path and the note ids it showed."""

    paths: list[str] = field(default_factory=list)
    ids: list[list[int]] = field(default_factory=list)
    next_path: str | None = None  # the last page's rel="next", where a later walk goes on

    def all_ids(self) -> list[int]:
        """Every note id shown, in order, across the pages."""
        return [number for page in self.ids for number in page]


def walk(client, path: str, pages: int, walked: Walk | None = None) -> Walk:
    """Follow `rel="next"` from `path` until `pages` pages are walked (or there is no next
    page), appending to `walked` when given (it then goes on from its last page's link)."""
    walked = walked or Walk()
    while len(walked.paths) < pages:
        html_text = fetch(client, path)
        walked.paths.append(path)
        walked.ids.append(note_ids(html_text))
        path = next_link(html_text)
        if path is None:
            break
    walked.next_path = path
    return walked


def logged_in(app, user: int):
    """A test client logged in as analyst `user` through the real form."""
    client = app.test_client()
    response = AuthActions(client).login(f"analyst{user}@example.com", PASSWORD)
    if response.status_code != 302:
        raise RuntimeError(f"login of analyst {user} failed: {response.status_code}")
    return client


def write_note(app, author: int, ticker: str, body: str) -> None:
    """Write a note through the home page's form, as analyst `author`."""
    client = logged_in(app, author)
    token = csrf_token_from(client.get("/"))
    form = {"csrf_token": token, "ticker": ticker, "as_of": date.today().isoformat(),
            "body": body}
    response = client.post("/notes/", data=form)
    if response.status_code != 302:
        raise RuntimeError(f"writing a note failed: {response.status_code}")


def followed_analyst(app) -> int:
    """An analyst the timed analyst follows (a note of theirs belongs to the feed)."""
    with app.app_context():
        followed = db.session.scalar(
            text("SELECT min(followed_id) FROM follows WHERE follower_id = :me"), {"me": ANALYST}
        )
        db.session.remove()
    return followed


def check_stability(app, client, page_list: str, before: int = 3, after: int = 3) -> bool:
    """Walk `before` pages, write a note, walk `after` more from the link in hand: the notes
    shown must be exactly the reference's first ones of before the note, in order (so none
    repeated or skipped); and page 1 must now start with the new note (which
    really is in the list)."""
    walked = walk(client, PATHS[page_list], before)
    expected = reference_ids(app, page_list, (before + after) * app.config["PER_PAGE"])
    with app.app_context():
        ticker = db.session.scalar(text("SELECT min(ticker) FROM stock_tickers"))
        db.session.remove()
    body = f"stability check of the {page_list}: written while walking"
    write_note(app, followed_analyst(app), ticker, body)
    if walked.next_path is not None:
        walk(client, walked.next_path, before + after, walked)
    shown = walked.all_ids()
    first_page = fetch(client, PATHS[page_list])
    new_first = body in first_page.split("[note ", 1)[0]
    # A prefix: the notes the bench wrote earlier (they carry no id in their text) take places
    # on the first pages. Any note repeated or skipped breaks the order; and the walk must have
    # gone on past the note written.
    walked_on = len(shown) > before * app.config["PER_PAGE"]
    return shown == expected[: len(shown)] and walked_on and new_first


# --- timing and plans --------------------------------------------------------------------------


def alternate_clocks(functions: dict[str, Callable[[], object]], runs: int) -> dict[str, dict]:
    """As harness.alternate (a warm-up, then `runs` calls of each in turn), timing each call by
    the wall clock and by this process's CPU time: the machine is shared, and the CPU time of
    the app's own work (routing, queries sent and read, templates) does not count the moments
    other processes held the cores. The database server's time is in the wall clock only (the
    plans below show it is well under a millisecond)."""
    for function in functions.values():
        function()
    clocks = {name: {"wall": [], "cpu": []} for name in functions}
    for _ in range(runs):
        for name, function in functions.items():
            wall, cpu = time.perf_counter(), time.process_time()
            function()
            clocks[name]["cpu"].append(time.process_time() - cpu)
            clocks[name]["wall"].append(time.perf_counter() - wall)
    return {
        name: {"p50": statistics.median(c["wall"]) * 1000, "p90": p90(c["wall"]) * 1000,
               "cpu_p50": statistics.median(c["cpu"]) * 1000}
        for name, c in clocks.items()
    }  # fmt: skip


def p90(seconds: list[float]) -> float:
    """The 90th percentile (the nearest rank above)."""
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1) + 0.5))]


@contextmanager
def captured_statements(app) -> Iterator[list[tuple[str, object]]]:
    """The SQL (with its parameters) the app sends to the database inside the block."""
    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def plans(app, client, path: str) -> tuple[int, list[str]]:
    """How many statements the page `path` runs, and the plan of each one that reads notes,
    run again with the same parameters (EXPLAIN (ANALYZE, BUFFERS); SQLite: QUERY PLAN)."""
    with captured_statements(app) as statements:
        fetch(client, path)
    shown = []
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
        with db.engine.connect() as connection:
            for statement, parameters in statements:
                reads_notes = re.search(r"\bnotes\b", statement)
                if not reads_notes or not statement.lstrip().upper().startswith("SELECT"):
                    continue
                rows = connection.exec_driver_sql(prefix + statement, parameters).all()
                plan = "\n".join(
                    str(row[0]) if postgres else "  " * _depth(rows, row) + str(row[-1])
                    for row in rows
                )
                shown.append(f"{statement}\n{parameters}\n{plan}")
        db.engine.dispose()
    return len(statements), shown


def _depth(rows, row) -> int:
    """The nesting of a SQLite EXPLAIN QUERY PLAN row (id, parent, notused, detail)."""
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent:
        depth, parent = depth + 1, parents.get(parent, 0)
    return depth


def measure(app, client, page_list: str, depth: int, runs: int) -> dict:
    """Walk to page `depth` of `page_list`, check the pages walked, time page 1 and that page."""
    started = time.perf_counter()
    walked = walk(client, PATHS[page_list], depth)
    walk_s = time.perf_counter() - started
    shown = walked.all_ids()
    correct = shown == reference_ids(app, page_list, len(shown)) and len(shown) == len(set(shown))
    first, deep = walked.paths[0], walked.paths[-1]
    timings = alternate_clocks({"first": lambda: fetch(client, first),
                                "deep": lambda: fetch(client, deep)}, runs)  # fmt: skip
    result = {"list": page_list, "pages": len(walked.paths), "deep_path": deep,
              "walk_s": walk_s, "correct": correct, "shown": len(shown)}  # fmt: skip
    for name, timing in timings.items():
        for measure_name, value in timing.items():
            result[f"{name}_{measure_name}"] = value
    result["ratio"] = result["deep_p50"] / result["first_p50"]
    result["cpu_ratio"] = result["deep_cpu_p50"] / result["first_cpu_p50"]
    result["plans"] = {"page 1": plans(app, client, first),
                       f"page {len(walked.paths)}": plans(app, client, deep)}  # fmt: skip
    return result


def time_newcomer(app, user: int, runs: int) -> dict:
    """The home page of analyst `user`, whose feed is empty (the newcomer, or the quiet analyst):
    where a scan of all notes for matching ones would find none to stop at."""
    client = logged_in(app, user)
    timing = alternate_clocks({"first": lambda: fetch(client, PATHS["feed"])}, runs)["first"]
    return {**timing, "plans": plans(app, client, PATHS["feed"])}


# --- the run -----------------------------------------------------------------------------------


@contextmanager
def database(options) -> Iterator[str]:
    """The scratch database's URL: a SQLite file or a PostgreSQL database, gone at the end."""
    if options.sqlite:
        with tempfile.TemporaryDirectory(prefix="stockdash-notes-bench-") as folder:
            yield "sqlite:///" + str(Path(folder) / "notes.db")
    else:
        with scratch_database("stockdash_notes_bench", options.admin_url) as url:
            yield url


def main() -> None:
    """Generate and load the data, check stability, time both lists, print tables and plans."""
    parser = option_parser(__doc__, runs=30, what="timed runs of each page")
    parser.add_argument("--users", type=int, default=1000, help="analysts (1000)")
    parser.add_argument("--follows", type=int, default=50, help="analysts each follows (50)")
    parser.add_argument("--tickers", type=int, default=500, help="tickers (500)")
    parser.add_argument("--watch", type=int, default=10, help="tickers each watches, about (10)")
    parser.add_argument("--notes", type=int, help="notes (1,000,000; with --sqlite 100,000)")
    parser.add_argument("--depth", type=int, default=500, help="the deep page's number (500)")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file, not PostgreSQL")
    parser.add_argument("--admin-url", default=POSTGRES_ADMIN_URL)
    options = parse_options(parser, users=40, follows=5, tickers=20, watch=4, notes=3000,
                            depth=6, runs=2)  # fmt: skip
    if options.notes is None:
        options.notes = 100_000 if options.sqlite else 1_000_000
    if options.follows >= options.users:
        parser.error("--follows must be smaller than --users")
    sizes = Sizes(options.users, options.follows, options.tickers, options.watch, options.notes)

    with database(options) as url:
        app = create_app(bench_config(url, BENCH_NOTES=options.notes))
        migrate(app)
        started = time.perf_counter()
        tables = generate(sizes, end=datetime.now(UTC) - timedelta(minutes=1))
        generated = time.perf_counter() - started
        load(app, tables)
        loaded = time.perf_counter() - started - generated
        backend = "SQLite" if options.sqlite else "PostgreSQL"
        counts = ", ".join(f"{len(rows):,} {table}" for table, (_, rows) in tables.items())
        print(f"{backend}: {counts}; generated in {generated:.0f} s, loaded in {loaded:.0f} s",
              file=sys.stderr)  # fmt: skip
        del tables

        client = logged_in(app, ANALYST)
        load_average = [os.getloadavg()[0]]
        results = [measure(app, client, page_list, options.depth, options.runs)
                   for page_list in ("feed", "explore")]  # fmt: skip
        newcomer = time_newcomer(app, options.users + 1, options.runs)
        quiet = time_newcomer(app, options.users + 2, options.runs)
        load_average.append(os.getloadavg()[0])
        stable = {page_list: check_stability(app, client, page_list) for page_list in PATHS}
        with app.app_context():
            db.engine.dispose()

    rows, fast_all = [], True
    for result in results:
        slowest = max(result["first_p50"], result["deep_p50"])
        fast = slowest <= TARGET_MS and result["ratio"] <= TARGET_RATIO
        fast_all &= fast
        rows.append([f"{PATHS[result['list']]} ({result['list']})", f"{result['pages']}",
                     f"{result['first_p50']:.1f}", f"{result['first_p90']:.1f}",
                     f"{result['deep_p50']:.1f}", f"{result['deep_p90']:.1f}",
                     f"{result['ratio']:.2f}", f"{result['first_cpu_p50']:.1f}",
                     f"{result['deep_cpu_p50']:.1f}", f"{result['cpu_ratio']:.2f}",
                     verdict(fast)])  # fmt: skip
    header = ["page list", "deep page", "page 1 p50 ms", "page 1 p90 ms", "deep p50 ms",
              "deep p90 ms", "deep/page 1", "page 1 CPU p50 ms", "deep CPU p50 ms",
              "CPU deep/page 1", "target"]  # fmt: skip
    print(f"{backend}, {sizes.notes:,} notes, {sizes.users:,} analysts following {sizes.follows} "
          f"and watching ~{sizes.watch} of {sizes.tickers} tickers; analyst {ANALYST}'s feed; "
          f"{options.runs} alternating runs; load average {load_average[0]:.1f} before timing, "
          f"{load_average[1]:.1f} after ({os.cpu_count()} cores):")  # fmt: skip
    print("\n".join(markdown_table(header, "lrrrrrrrrrl", rows)))
    for result in results:
        print(f"\n{result['list']}: walked {result['pages']} pages ({result['shown']:,} notes) in "
              f"{result['walk_s']:.1f} s, as the reference query lists them, none repeated: "
              f"{verdict(result['correct'])}; deep page {result['deep_path']}")  # fmt: skip
    for page_list, ok in stable.items():
        print(f"{page_list}: a note written while walking neither repeats nor skips: {verdict(ok)}")
    print(f"p50 <= {TARGET_MS} ms and deep/page 1 <= {TARGET_RATIO}: {verdict(fast_all)}")
    print(f"\nfeed of a newcomer (following and watching nothing, no notes: an empty feed): "
          f"p50 {newcomer['p50']:.1f} ms, p90 {newcomer['p90']:.1f} ms, "
          f"CPU p50 {newcomer['cpu_p50']:.1f} ms")  # fmt: skip
    print(f"feed of a quiet analyst (following one analyst who wrote nothing: an empty feed with "
          f"a source): p50 {quiet['p50']:.1f} ms, p90 {quiet['p90']:.1f} ms, "
          f"CPU p50 {quiet['cpu_p50']:.1f} ms")  # fmt: skip
    for result in results:
        for label, (count, shown) in result["plans"].items():
            print(f"\n### {result['list']} {label}: {count} statements; those reading notes:\n")
            print("\n\n".join(shown))
    count, shown = newcomer["plans"]
    print(f"\n### newcomer's feed: {count} statements; those reading notes:\n")
    print("\n\n".join(shown))
    if not all(r["correct"] for r in results) or not all(stable.values()):
        sys.exit("the pages walked are wrong (see above)")


if __name__ == "__main__":
    main()
