"""The importer's vectorised path against its row-by-row path (the csv module and `RowParser`):
the same lines must give the same rows, warnings, rejects and line numbers either way."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.prices.importing import Batch, ImportStats, RejectLog, WarningLog, import_file

TICKERS = ["AAA", " bbb ", "", "A" * 17, "A\\B", "\u00c4B", "BAD\udcff", "x y", "\tCC"]
TICKERS += ["^gspc", "BRK.B", "BRK-B", "ES=F", "BRK/B", "<SCRIPT>", "^", "A..", "-A"]
DATES = [
    "2020-01-02",
    " 2020-01-03 ",
    "2020-01-02 00:00:00",
    "2020-01-02T10:00:00+02:00",
    "2020-02-30",
    "",
    "now",
    "2020-01-06T09:30:00.250",
]
NUMBERS = [
    "1", "1.5", "", " 2 ", "1e3", "-1.5", "+1", "nan", "inf", "1_000", "1.2.3", ".5", "5.",
    ".", "0001.10", "123456789012345", "1234567890123456", "12345678901234567890",
    "\u0661", "0x10", "\u00a01.25", "0", "-0.0",
]  # fmt: skip
VOLUMES = ["100", "", "1e3", "1.5", "-5", "99999999999999999999", "007", " 7 ", "9" * 18]

values = st.one_of(
    st.sampled_from(NUMBERS),
    st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False).map(str),
    st.floats(min_value=0, max_value=1e6).map(repr),
)
row = st.tuples(
    st.sampled_from(DATES),
    values,
    values,
    values,
    values,
    st.sampled_from(VOLUMES),
    st.sampled_from(TICKERS),
)
line = st.one_of(
    row.map(",".join),
    st.just(""),  # blank: no record
    st.just("2020-01-02,1,2"),  # too few fields
    st.just("2020-01-02,1,2,0.5,1.5,100,AAA,extra,more"),  # more fields than the header
    st.just("2020-01-02,1,2,0.5,1.5,100,AAA"),  # the same key again
)


class Collect:
    """A writer that keeps the rows it is given."""

    def __init__(self):
        self.rows = []

    def write(self, rows: Batch) -> tuple[int, int]:
        self.rows.extend(rows.records())
        return len(rows), 0

    def cancel(self) -> None:
        pass

    def close(self) -> None:
        pass


def run_import(path: Path, **options) -> tuple[list, list[str], ImportStats, list[list[str]]]:
    """The rows stored, the rejects (line: reason), the counts, and the warnings file's rows
    (line, kind, value)."""
    messages: list[str] = []
    writer = Collect()
    log = RejectLog(path.with_suffix(".rejects"), messages.append)
    warnings = WarningLog(path.with_suffix(".warnings"), messages.append)
    try:
        stats = import_file(path, writer, log, warnings=warnings, **options)
    finally:
        log.close()
        warnings.close()
    listed = []
    if warnings.path.exists():
        with warnings.path.open(newline="") as file:
            listed = [row[1:] for row in csv.reader(file)][1:]
    assert len(listed) == stats.warnings == warnings.count
    return writer.rows, [message.split(":", 1)[1] for message in messages], stats, listed


def write(path: Path, lines: list[str], quoted: bool, newline: str = "\n") -> Path:
    """The lines with an extra last column, quoted in the second file: a quote sends every
    chunk through the csv module, which reads "x" as x."""
    extra = '"x"' if quoted else "x"
    body = ["date,open,high,low,close,volume,ticker,note"]
    body += [f"{text},{extra}" if text else text for text in lines]
    path.write_bytes(newline.join(body).encode("utf-8", "surrogateescape") + b"\n")
    return path


def counts(stats: ImportStats) -> tuple[int, int, int, int]:
    return stats.read, stats.inserted, stats.rejected, stats.warnings


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(line, max_size=40), replace=st.booleans(), crlf=st.booleans())
def test_vectorised_and_row_by_row_paths_agree(tmp_path_factory, lines, replace, crlf):
    directory = tmp_path_factory.mktemp("agree")
    newline = "\r\n" if crlf else "\n"
    fast = run_import(write(directory / "fast.csv", lines, False, newline), replace=replace)
    slow = run_import(write(directory / "slow.csv", lines, True, newline), replace=replace)
    assert fast[0] == slow[0]  # the same rows, values and order
    assert fast[1] == slow[1]  # the same rejects: line numbers and reasons
    assert counts(fast[2]) == counts(slow[2])
    assert fast[2].warning_kinds == slow[2].warning_kinds
    assert fast[3] == slow[3]  # the same warnings: lines, kinds and values


def test_chunks_mixing_both_paths_keep_line_numbers(tmp_path):
    """A quote left open in the middle of the file: the chunks around it are vectorised, the
    one holding it goes through the csv module, the quote ends with its line, and line numbers
    stay true."""
    lines = [f"2020-01-{day:02d},1,2,0.5,1.5,100,AAA" for day in range(1, 29)]
    lines[10] = '2020-01-11,1,2,0.5,1.5,100,"MULTI\nLINE"'  # two lines, two rejects
    lines[20] = "2020-01-21,1,2,0.5,x,100,AAA"  # a reject in a vectorised chunk
    lines[25] = "2020-01-26,1,2,0.5,1.5,100,AA\rA"  # a lone CR ends a line: two records
    source = tmp_path / "mixed.csv.gz"
    content = "date,open,high,low,close,volume,ticker\n" + "\n".join(lines)
    source.write_bytes(gzip.compress(content.encode()))
    rows, rejects, stats, _ = run_import(source, batch_size=4)
    assert rejects == [
        "12: unterminated quote: a quoted field must end on its own line",
        '13: expected 7 fields, found 1',  # LINE"
        "23: unparsable close 'x'",
        "29: expected 7 fields, found 1",  # the "A" after the carriage return
    ]
    assert (stats.read, stats.rejected, len(rows)) == (30, 4, 26)
    assert rows[-1][:2] == ("AAA", "2020-01-28 00:00:00.000000")
