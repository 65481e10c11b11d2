"""The database writers: each stores one batch in one transaction and reports what it changed.

On PostgreSQL a batch is streamed with binary COPY (the server parses no text), straight into
`stock_prices` while batches are all new rows, else into a temporary table merged with
`INSERT ... ON CONFLICT`; on SQLite it is an `executemany` of the same upsert. Either way the
rollups of the buckets the batch touched are recomputed in the same transaction
(`app.prices.rollups`). Existing rows are never deleted first: a re-import leaves them alone
unless `replace` is set. `BackgroundWriter` runs a writer in a thread, so that one batch is
stored while the next is parsed.
Each batch's transaction also rewrites the `ticker_stats` rows of its tickers
(app.prices.ticker_stats).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import Protocol

import psycopg
from sqlalchemy.engine import Engine

from app.prices.importing.batches import COPY_COLUMNS, Batch
from app.prices.importing.fields import Row
from app.prices.rollups import BatchRollups, Runner
from app.prices.ticker_stats import refresh_ticker_stats
from app.prices.tickers import TICKER_MAX


class BatchWriter(Protocol):
    """Writes one batch of rows in one transaction; returns (inserted, updated)."""

    def write(self, rows: Batch | list[Row]) -> tuple[int, int]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


# Fixed SQL (no input is ever formatted into it); the stage is a per-session temporary table.
PG_CREATE_STAGE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS stockdash_import_stage ("
    f"ticker varchar({TICKER_MAX}), time timestamp, open float8, high float8, low float8, "
    "close float8, volume bigint) ON COMMIT DELETE ROWS"
)
PG_COPY_STAGE = f"COPY stockdash_import_stage ({COPY_COLUMNS}) FROM STDIN (FORMAT binary)"
PG_COPY_DIRECT = f"COPY stock_prices ({COPY_COLUMNS}) FROM STDIN (FORMAT binary)"
PG_MERGE_NEW = (
    "INSERT INTO stock_prices (ticker, time, open, high, low, close, volume) "
    "SELECT ticker, time, open, high, low, close, volume FROM stockdash_import_stage "
    "ON CONFLICT (ticker, time) DO NOTHING"
)
# The rows just inserted equal their stage rows, so only rows that existed with other values are
# touched and counted.
PG_MERGE_CHANGED = (
    "UPDATE stock_prices AS p SET open = s.open, high = s.high, low = s.low, close = s.close, "
    "volume = s.volume FROM stockdash_import_stage AS s "
    "WHERE p.ticker = s.ticker AND p.time = s.time AND "
    "(p.open, p.high, p.low, p.close, p.volume) IS DISTINCT FROM "
    "(s.open, s.high, s.low, s.close, s.volume)"
)
PG_DROP_STAGE = "DROP TABLE IF EXISTS stockdash_import_stage"
# The tables an import writes to, and autovacuum's rule for when a table's statistics are stale
# (50 rows + 10 % of the rows the planner believes it has; -1 for a table never analyzed).
PG_WRITTEN_TABLES = ("stock_prices", "stock_prices_hourly", "stock_prices_daily", "ticker_stats")
PG_ESTIMATED_ROWS = (
    "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'stock_prices'::regclass"
)
PG_ANALYZE = f"ANALYZE {', '.join(PG_WRITTEN_TABLES)}"
INSERT_TICKER = "INSERT INTO stock_tickers (ticker) VALUES ({}) ON CONFLICT DO NOTHING"
SQLITE_INSERT_NEW = (
    "INSERT INTO stock_prices (ticker, time, open, high, low, close, volume) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ticker, time) DO NOTHING"
)
SQLITE_UPDATE_CHANGED = (
    "UPDATE stock_prices SET open = ?3, high = ?4, low = ?5, close = ?6, volume = ?7 "
    "WHERE ticker = ?1 AND time = ?2 AND (open IS NOT ?3 OR high IS NOT ?4 OR low IS NOT ?5 "
    "OR close IS NOT ?6 OR volume IS NOT ?7)"
)


class PostgresWriter:
    """COPY straight into `stock_prices` while batches are all new rows; otherwise COPY into a
    session-private temporary table and merge from it.

    The direct COPY runs under a savepoint: a key that already exists makes it fail and roll back
    to the savepoint, and the batch is merged instead. Merging costs about twice as much as COPY
    (row-at-a-time speculative inserts), so a first load takes the direct path, and a re-import
    returns to it as soon as a merged batch turns out to be all new rows.
    """

    def __init__(self, engine: Engine, replace: bool):
        self.replace = replace
        self._pool_connection = engine.raw_connection()
        self.connection = self._pool_connection.driver_connection
        self.connection.autocommit = True  # transactions are explicit, one per batch
        self.connection.execute(PG_CREATE_STAGE)
        self.known_tickers = {
            row[0] for row in self.connection.execute("SELECT ticker FROM stock_tickers")
        }
        self.try_direct = True
        self.rows_written = 0
        self.run = Runner.for_psycopg(self.connection)
        self.rollups = BatchRollups(self.run)

    @staticmethod
    def _copy(cursor, statement: str, data: bytes) -> None:
        with cursor.copy(statement) as copy:
            copy.write(data)

    def write(self, rows: Batch | list[Row]) -> tuple[int, int]:
        """Store `rows` in one transaction."""
        batch = rows if isinstance(rows, Batch) else Batch.from_rows(rows)
        if not len(batch):
            return 0, 0
        data = batch.copy_binary(self.connection.info.encoding)
        new_tickers = set(batch.names) - self.known_tickers
        with self.connection.transaction(), self.connection.cursor() as cursor:
            if new_tickers:
                cursor.executemany(
                    INSERT_TICKER.format("%s"), [(ticker,) for ticker in sorted(new_tickers)]
                )
            inserted, updated = self._store(cursor, batch, data)
            refresh_ticker_stats(cursor, batch.names, "postgresql")
            # In the batch's transaction: a reader sees its rows and their rollups together.
            self.rollups.apply(self.run, batch)
        self.rollups.committed()
        self.rollups.refresh_after_commit(self.run, batch)
        self.known_tickers |= new_tickers
        self.rows_written += inserted + updated
        return inserted, updated

    def _store(self, cursor, batch: Batch, data: bytes) -> tuple[int, int]:
        if self.try_direct:
            try:
                with self.connection.transaction():
                    self._copy(cursor, PG_COPY_DIRECT, data)
            except psycopg.errors.UniqueViolation:
                self.try_direct = False
            else:
                return len(batch), 0
        self._copy(cursor, PG_COPY_STAGE, data)
        cursor.execute(PG_MERGE_NEW)
        inserted = cursor.rowcount
        updated = 0
        if self.replace:
            cursor.execute(PG_MERGE_CHANGED)
            updated = cursor.rowcount
        self.try_direct = inserted == len(batch)
        return inserted, updated

    def cancel(self) -> None:
        """Cancel the statement in progress (called from another thread on Ctrl-C)."""
        self.connection.cancel_safe()

    def close(self) -> None:
        """Bring the planner's statistics up to date if the import changed much, drop the stage
        table and hand the connection back to the pool as it was."""
        try:
            if not self.connection.closed:
                self.analyze_if_stale()
                self.connection.execute(PG_DROP_STAGE)
                self.connection.autocommit = False
        finally:
            self._pool_connection.close()

    def analyze_if_stale(self) -> None:
        """ANALYZE the written tables when this import wrote more rows than autovacuum's rule
        allows before it would re-analyze, now rather than whenever autovacuum comes round.

        Right after a first load the planner still believes `stock_prices` nearly empty and may
        join it by a nested loop over sequential scans: a summary of one ticker's year then ran
        into the 30 s statement timeout (tests/test_prices_realfile.py, once in a full run).
        """
        estimated = self.connection.execute(PG_ESTIMATED_ROWS).fetchone()[0]
        if self.rows_written > 50 + 0.1 * estimated:
            self.connection.execute(PG_ANALYZE)


class SqliteWriter:
    """`executemany` upserts inside BEGIN IMMEDIATE ... COMMIT."""

    def __init__(self, engine: Engine, replace: bool):
        self.replace = replace
        self._pool_connection = engine.raw_connection()
        self.connection = self._pool_connection.driver_connection
        self._isolation_level = self.connection.isolation_level
        self.connection.isolation_level = None  # no implicit BEGIN: each batch is explicit
        self.known_tickers = {
            row[0] for row in self.connection.execute("SELECT ticker FROM stock_tickers")
        }
        self.run = Runner.for_sqlite3(self.connection)
        self.rollups = BatchRollups(self.run)

    def write(self, rows: Batch | list[Row]) -> tuple[int, int]:
        """Upsert `rows` in one transaction."""
        connection = self.connection
        batch = rows if isinstance(rows, Batch) else Batch.from_rows(rows)
        new_tickers = set(batch.names) - self.known_tickers
        records = batch.records()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(
                INSERT_TICKER.format("?"),
                [(ticker,) for ticker in sorted(new_tickers)],
            )
            before = connection.total_changes
            connection.executemany(SQLITE_INSERT_NEW, records)
            inserted = connection.total_changes - before
            updated = 0
            if self.replace:
                before = connection.total_changes
                connection.executemany(SQLITE_UPDATE_CHANGED, records)
                updated = connection.total_changes - before
            refresh_ticker_stats(connection, batch.names, "sqlite")
            self.rollups.apply(self.run, batch)  # in the batch's transaction
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        self.rollups.committed()
        self.known_tickers |= new_tickers
        return inserted, updated

    def cancel(self) -> None:
        """Abort the statement in progress (called from another thread on Ctrl-C)."""
        self.connection.interrupt()

    def close(self) -> None:
        """Hand the connection back to the pool as it was."""
        self.connection.isolation_level = self._isolation_level
        self._pool_connection.close()


def open_writer(engine: Engine, replace: bool = False) -> BatchWriter:
    """The batch writer for `engine`'s database."""
    if engine.dialect.name == "postgresql":
        return PostgresWriter(engine, replace)
    if engine.dialect.name == "sqlite":
        return SqliteWriter(engine, replace)
    raise NotImplementedError(f"price import does not support {engine.dialect.name}")


class BackgroundWriter:
    """Runs `writer.write()` in a thread, so that the database stores one batch while Python
    parses the next (the driver releases the GIL while it waits for the server). At most one
    batch waits in the queue, which bounds memory. `stored` counts the rows of the batches
    committed, so that what an abort or an error dropped is known exactly."""

    def __init__(self, writer: BatchWriter):
        self.writer = writer
        self.inserted = 0
        self.updated = 0
        self.stored = 0
        self.error: BaseException | None = None
        self._queue: queue.Queue[Batch | None] = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._run, name="price-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            try:
                inserted, updated = self.writer.write(batch)
            except BaseException as error:  # handed to the main thread by _check()
                self.error = error
                return
            self.inserted += inserted
            self.updated += updated
            self.stored += len(batch)

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def _put(self, item: Batch | None) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        self._check()

    def submit(self, batch: Batch) -> None:
        """Queue one batch; blocks while the previous one waits. Raises the writer's error."""
        self._check()
        self._put(batch)

    def finish(self) -> None:
        """Wait until every queued batch is stored; raises the writer's error, if any."""
        self._put(None)
        self._thread.join()
        self._check()

    def abort(self) -> None:
        """Cancel the batch in progress (its transaction rolls back) and stop the thread."""
        if self._thread.is_alive():
            self.writer.cancel()
            with contextlib.suppress(queue.Empty):
                self._queue.get_nowait()  # a batch not started yet is simply dropped
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
            self._thread.join()
