"""Batches: parsed rows held in columns (numpy arrays), as a writer stores them in one transaction,
and their encodings for the database (PostgreSQL's binary COPY, SQLite's parameter tuples)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from app.prices.importing.fields import FIELDS, PRICE_FIELDS, Row

PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01, PostgreSQL's timestamp epoch, in Unix time
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # then no flags and no header extension
COPY_TRAILER = b"\xff\xff"
# The column order of binary COPY: the ticker, the one field of variable length, last.
COPY_COLUMNS = "time, open, high, low, close, volume, ticker"


def copy_row_dtype(ticker_bytes: int) -> np.dtype:
    """One row of binary COPY: the field count, then each field as its byte length and its
    big-endian value (the ticker padded to `ticker_bytes`)."""
    prices = [item for name in PRICE_FIELDS for item in ((f"{name}_size", ">i4"), (name, ">f8"))]
    return np.dtype(
        [
            ("fields", ">i2"),
            ("time_size", ">i4"),
            ("time", ">i8"),
            *prices,
            ("volume_size", ">i4"),
            ("volume", ">i8"),
            ("ticker_size", ">i4"),
            ("ticker", f"S{ticker_bytes}"),
        ]
    )


@dataclass
class Batch:
    """Rows in columns, as a writer stores them in one transaction.

    `names` are the distinct tickers and `ticker` each row's index into them; `prices` has one
    column per PRICE_FIELDS, NaN for a missing value (a stored price is always finite), and
    `volume_missing` flags a missing volume."""

    names: list[str]
    ticker: np.ndarray  # intp
    time: np.ndarray  # datetime64[us], naive UTC
    prices: np.ndarray  # float64, one row per row
    volume: np.ndarray  # int64
    volume_missing: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.ticker)

    @classmethod
    def from_rows(cls, rows: Iterable[Row]) -> Batch:
        """The batch of `rows` (from the row-by-row parser, the demo data, tests)."""
        rows = list(rows)
        index: dict[str, int] = {}
        ticker = np.array([index.setdefault(row[0], len(index)) for row in rows], np.intp)
        volumes = [row[6] for row in rows]
        return cls(
            names=list(index),
            ticker=ticker,
            time=np.array([row[1] for row in rows], "datetime64[us]"),
            prices=np.array([row[2:6] for row in rows], np.float64).reshape(-1, 4),
            volume=np.array([volume or 0 for volume in volumes], np.int64),
            volume_missing=np.array([volume is None for volume in volumes], bool),
        )

    @classmethod
    def concat(cls, first: Batch, second: Batch) -> Batch:
        """The rows of `first`, then those of `second`."""
        index = {name: number for number, name in enumerate(first.names)}
        remap = np.array([index.setdefault(name, len(index)) for name in second.names], np.intp)
        return cls(
            names=list(index),
            ticker=np.concatenate([first.ticker, remap[second.ticker]]),
            time=np.concatenate([first.time, second.time]),
            prices=np.concatenate([first.prices, second.prices]),
            volume=np.concatenate([first.volume, second.volume]),
            volume_missing=np.concatenate([first.volume_missing, second.volume_missing]),
        )

    def take(self, rows: np.ndarray) -> Batch:
        """The rows selected by `rows` (indexes or a mask), with only the tickers they use (a
        writer creates each in `stock_tickers`)."""
        ticker = self.ticker[rows]
        used = np.flatnonzero(np.bincount(ticker, minlength=len(self.names)))
        renumber = np.zeros(len(self.names), np.intp)
        renumber[used] = np.arange(len(used))
        return Batch(
            names=[self.names[number] for number in used.tolist()],
            ticker=renumber[ticker],
            time=self.time[rows],
            prices=self.prices[rows],
            volume=self.volume[rows],
            volume_missing=self.volume_missing[rows],
        )

    def key_masks(self, replace: bool) -> tuple[np.ndarray, np.ndarray]:
        """Two masks over the rows: which to store, and which repeat the key `(ticker, time)` of
        an earlier row. The first copy of a key is stored, as it is across batches (or the last
        with `replace`, as across batches)."""
        ticker, when = self.ticker, self.time
        if (
            (ticker[1:] > ticker[:-1]) | ((ticker[1:] == ticker[:-1]) & (when[1:] > when[:-1]))
        ).all():
            return np.ones(len(self), bool), np.zeros(len(self), bool)  # sorted: no key repeats
        order = np.lexsort((when, ticker))  # stable: file order within a key
        ticker, when = ticker[order], when[order]
        same = (ticker[1:] == ticker[:-1]) & (when[1:] == when[:-1])
        repeat = np.zeros(len(self), bool)
        repeat[order[1:][same]] = True
        if not replace:
            return ~repeat, repeat
        superseded = np.zeros(len(self), bool)
        superseded[order[:-1][same]] = True
        return ~superseded, repeat

    def records(self) -> list[tuple]:
        """The rows as tuples for SQLite: times as text the way SQLAlchemy's DateTime stores
        them there (range queries compare those strings), None for a missing value."""
        times, which = np.unique(self.time, return_inverse=True)
        texts = [text.replace("T", " ") for text in np.datetime_as_string(times, unit="us")]
        prices = self.prices.astype(object)
        prices[np.isnan(self.prices)] = None
        volume = self.volume.astype(object)
        volume[self.volume_missing] = None
        return list(
            zip(
                np.array(self.names, object)[self.ticker].tolist(),
                np.array(texts, object)[which.reshape(-1)].tolist(),
                *prices.T.tolist(),
                volume.tolist(),
                strict=True,
            )
        )

    def copy_binary(self, encoding: str) -> bytes:
        """The rows in PostgreSQL's binary COPY format, columns as in COPY_COLUMNS; tickers are
        in `encoding`, the connection's client encoding (the server converts text from it)."""
        encoded = [name.encode(encoding) for name in self.names]
        width = max(map(len, encoded), default=1)
        sizes = np.array([len(name) for name in encoded], np.int64)[self.ticker]
        rows = np.empty(len(self), copy_row_dtype(width))
        rows["fields"] = len(FIELDS)
        rows["time_size"] = 8
        rows["time"] = self.time.astype(np.int64) - PG_EPOCH_US
        missing = np.isnan(self.prices)
        for column, name in enumerate(PRICE_FIELDS):
            rows[f"{name}_size"] = np.where(missing[:, column], -1, 8)
            rows[name] = self.prices[:, column]
        rows["volume_size"] = np.where(self.volume_missing, -1, 8)
        rows["volume"] = self.volume
        rows["ticker_size"] = sizes
        rows["ticker"] = np.array(encoded, f"S{width}")[self.ticker]
        data = rows.view(np.uint8).reshape(len(rows), rows.itemsize)
        # Leave out what a row does not hold: the value of a NULL, the padding after a ticker.
        keep = np.ones(data.shape, bool)
        keep[:, rows.dtype.fields["ticker"][1] :] = np.arange(width) < sizes[:, None]
        nulls = [*zip(PRICE_FIELDS, missing.T, strict=True), ("volume", self.volume_missing)]
        for name, null in nulls:
            if null.any():
                offset = rows.dtype.fields[name][1]
                keep[null, offset : offset + 8] = False
        return COPY_SIGNATURE + data[keep].tobytes() + COPY_TRAILER


@dataclass
class Parsed:
    """A chunk of the file as read: its good rows in file order, each row's warning flags
    (`fields.row_warnings`; repeated keys not flagged yet) and line number, and the records read
    and rejected."""

    batch: Batch
    warning: np.ndarray  # uint8
    lines: np.ndarray  # int64
    read: int
    rejected: int
