"""`flask prices import|tickers|demo` on small hand-made files, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app.extensions import db
from app.models import TICKER_NAME_MAX
from app.prices.demo import DEMO_INDUSTRY, DEMO_TICKERS, generate_rows
from app.prices.importing import MAX_LINE_BYTES
from dashapp import ids
from tests.support.dash_client import call, callback_key
from tests.test_ticker_end_to_end import view_of


def run(runner, *args):
    """Invoke `flask prices ARGS`; a crash (anything but SystemExit) fails the test."""
    result = runner.invoke(args=["prices", *map(str, args)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output
    return result


def fetch(app, sql: str, **params):
    with app.app_context():
        rows = db.session.execute(text(sql), params).all()
        db.session.remove()
        return rows


def price_rows(app):
    rows = fetch(
        app,
        "SELECT ticker, time, open, high, low, close, volume FROM stock_prices "
        "ORDER BY ticker, time",
    )
    return [
        (r[0], r[1] if isinstance(r[1], datetime) else datetime.fromisoformat(r[1]), *r[2:])
        for r in rows
    ]


UNPRINTABLE = "not a ticker symbol: it contains control or unprintable characters"
BAD_LINES = [
    b"Date,Open,High,Low,Close,Volume,Name,Note",
    b"2020-01-02,1,2,0.5,1.5,100,GOOD,ok",  # 2
    b",1,2,0.5,1.5,100,NODATE,",  # 3
    b"2020-01-02,1,2,0.5,1.5,100,,",  # 4
    b"2020-01-02,1,2,0.5,,100,NOCLOSE,",  # 5
    b"2020-13-45,1,2,0.5,1.5,100,BADDATE,",  # 6
    b"2020-02-30,1,2,0.5,1.5,100,FEB30,",  # 7
    b"2020-01-02,abc,2,0.5,1.5,100,BADOPEN,",  # 8
    b"2020-01-02,1,2,0.5,nan,100,NANCLOSE,",  # 9
    b"2020-01-02,1,inf,0.5,1.5,100,INFHIGH,",  # 10
    b"2020-01-02,1,2,0.5,1.5,1.5,FRACVOL,",  # 11
    b"2020-01-02,1,2,0.5,1.5,-5,NEGVOL,",  # 12
    b"2020-01-02,1,2,0.5,1.5,100,ABCDEFGHIJKLMNOPQ,",  # 13: 17 characters
    b"2020-01-02,1,2",  # 14
    b'2020-01-02,1,2,0.5,"1,5",100,COMMA,',  # 15
    b"2020-01-02,1_000,2,0.5,1.5,100,UNDERSCORE,",  # 16
    b'2020-01-02,1,2,0.5,1.5,100,"MULTI',  # 17: a quote never spans lines: rejected alone
    b'LINE",',  # 18: a record of its own
    b"2020-01-02,1,2,0.5,1.5,100,BAD\xff,",  # 19: not UTF-8
    b"",  # 20: blank, ignored
    b"2020-01-03,,2,0.5,1.5,100,GOOD,",  # 21: warning, no open
    b"2020-01-06,1,2,0.5,2.5,100,GOOD,",  # 22: warning, close above high
    b"2020-01-07,1,2,0.5,1.5,,GOOD,",  # 23: warning, no volume
    b"2020-01-08T15:30:00,1,2,0.5,1.5,1e3,GOOD,",  # 24
    b"2020-01-02,9,9,9,9,9,GOOD,",  # 25: repeats line 2's key: warning, first wins
    b"2020-01-09 , 1 ,2,0.5,1.5,100, lower ,",  # 26: spaces, lower case
]
EXPECTED_REJECTS = [
    (3, "missing date"),
    (4, "missing ticker"),
    (5, "missing close"),
    (6, "unparsable date '2020-13-45'"),
    (7, "unparsable date '2020-02-30'"),
    (8, "unparsable open 'abc'"),
    (9, "close is not a finite number: 'nan'"),
    (10, "high is not a finite number: 'inf'"),
    (11, "volume is not a whole number: '1.5'"),
    (12, "volume out of range: '-5'"),
    (13, "ticker longer than 16 characters: 'ABCDEFGHIJKLMNOPQ'"),
    (14, "expected 7 fields, found 3"),
    (15, "unparsable close '1,5'"),
    (16, "unparsable open '1_000'"),
    (17, "unterminated quote: a quoted field must end on its own line"),
    (18, "expected 7 fields, found 2"),
    (19, f"{UNPRINTABLE}: 'BAD\\udcff'"),
]


def test_bad_rows_are_rejected_with_their_line_numbers(app, runner, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_bytes(b"\n".join(BAD_LINES) + b"\n")
    result = run(runner, "import", source)
    assert result.exit_code == 1
    reported = [line for line in result.stderr.splitlines() if line.startswith(str(source))]
    assert reported == [f"{source}:{line}: {reason}" for line, reason in EXPECTED_REJECTS]
    assert "24 rows read, 6 inserted, 0 updated, 1 unchanged, 17 rejected, 4 warnings" in (
        result.stdout
    )

    rejects = tmp_path / "bad.rejects.csv"
    assert f"17 rejected rows written to {rejects}" in result.stdout
    with open(rejects, newline="", encoding="utf-8", errors="surrogateescape") as file:
        written = list(csv.reader(file))
    assert written[0] == ["file", "line", "reason", "record"]
    assert [(int(row[1]), row[2]) for row in written[1:]] == EXPECTED_REJECTS
    assert written[1][3:] == ["", "1", "2", "0.5", "1.5", "100", "NODATE", ""]
    assert written[15][3:] == ['2020-01-02,1,2,0.5,1.5,100,"MULTI']  # the line as it was
    assert rejects.read_bytes().count(b"BAD\xff") == 1  # the bytes as they were read

    assert price_rows(app) == [
        ("GOOD", datetime(2020, 1, 2), 1.0, 2.0, 0.5, 1.5, 100),
        ("GOOD", datetime(2020, 1, 3), None, 2.0, 0.5, 1.5, 100),
        ("GOOD", datetime(2020, 1, 6), 1.0, 2.0, 0.5, 2.5, 100),
        ("GOOD", datetime(2020, 1, 7), 1.0, 2.0, 0.5, 1.5, None),
        ("GOOD", datetime(2020, 1, 8, 15, 30), 1.0, 2.0, 0.5, 1.5, 1000),
        ("LOWER", datetime(2020, 1, 9), 1.0, 2.0, 0.5, 1.5, 100),
    ]
    assert fetch(app, "SELECT ticker FROM stock_tickers ORDER BY ticker") == [
        ("GOOD",),
        ("LOWER",),
    ]


def test_bom_crlf_gzip_header_aliases_extra_columns_and_time_zones(app, runner, tmp_path):
    content = (
        "\ufeff Extra ,SYMBOL, Timestamp ,close,VOLUME,open,low,high\r\n"
        "x,AAA,2021-05-03 09:30:00,10.5,100,10,9.5,11\r\n"
        "y,AAA,2021-05-03T10:30:00+02:00,10.25,200,10.1,10,10.5\r\n"
        "z, bbb ,2021-05-04,7,,,,\r\n"
    )
    source = tmp_path / "prices.csv.gz"
    source.write_bytes(gzip.compress(content.encode("utf-8")))
    result = run(runner, "import", source)
    assert result.exit_code == 0, result.output
    assert "3 rows read, 3 inserted, 0 updated, 0 unchanged, 0 rejected, 1 warnings" in (
        result.stdout
    )
    assert price_rows(app) == [
        ("AAA", datetime(2021, 5, 3, 8, 30), 10.1, 10.5, 10.0, 10.25, 200),  # 10:30+02 in UTC
        ("AAA", datetime(2021, 5, 3, 9, 30), 10.0, 11.0, 9.5, 10.5, 100),
        ("BBB", datetime(2021, 5, 4), None, None, None, 7.0, None),
    ]
    assert not (tmp_path / "prices.rejects.csv").exists()


def write_prices(path, rows):
    lines = ["date,open,high,low,close,volume,ticker"]
    lines += [",".join(map(str, row)) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def test_reimport_changes_nothing_and_replace_updates(app, runner, tmp_path):
    first = tmp_path / "first.csv"
    write_prices(
        first, [("2020-01-02", 1, 2, 0.5, 1.5, 100, "AAA"), ("2020-01-03", 1, 2, 1, 1, 5, "AAA")]
    )
    assert run(runner, "import", first).exit_code == 0
    before = price_rows(app)

    again = run(runner, "import", first)
    assert "2 rows read, 0 inserted, 0 updated, 2 unchanged" in again.stdout
    assert price_rows(app) == before

    second = tmp_path / "second.csv"
    write_prices(
        second,
        [
            ("2020-01-02", 1, 2, 0.5, 1.75, 100, "AAA"),  # changed close
            ("2020-01-03", 1, 2, 1, 1, 5, "AAA"),  # same
            ("2020-01-06", 1, 2, 1, 1, 5, "AAA"),  # new
        ],
    )
    plain = run(runner, "import", second)
    assert "3 rows read, 1 inserted, 0 updated, 2 unchanged" in plain.stdout
    assert price_rows(app)[0][5] == 1.5  # without --replace stored values win

    replaced = run(runner, "import", "--replace", second)
    assert "3 rows read, 0 inserted, 1 updated, 2 unchanged" in replaced.stdout
    assert [row[5] for row in price_rows(app)] == [1.75, 1.0, 1.0]


def test_small_batches_rejects_option_and_several_files(app, runner, tmp_path):
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    write_prices(one, [(f"2020-02-{day:02d}", 1, 2, 0.5, 1.5, day, "AAA") for day in range(1, 29)])
    write_prices(
        two, [("2020-02-01", 1, 2, 0.5, "x", 1, "BBB"), ("2020-02-02", 1, 2, 0.5, 1, 1, "BBB")]
    )
    rejects = tmp_path / "out" / "all.csv"
    rejects.parent.mkdir()
    result = run(runner, "import", "--batch-size", 5, "--rejects", rejects, one, two)
    assert result.exit_code == 1
    assert "total: 30 rows read, 29 inserted, 0 updated, 0 unchanged, 1 rejected" in result.stdout
    assert f"{two}:2: unparsable close 'x'" in result.stderr
    assert len(rejects.read_text().splitlines()) == 2
    assert fetch(app, "SELECT count(*) FROM stock_prices") == [(29,)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"date,open,close\n2020-01-01,1,2\n", "the header has no ticker/symbol/name column"),
        (b"ticker,price\nAAA,1\n", "no date/time/timestamp/datetime / close column"),
    ],
)
def test_unusable_files_are_reported_without_traceback(app, runner, tmp_path, content, message):
    source = tmp_path / "odd.csv"
    source.write_bytes(content)
    result = run(runner, "import", source)
    assert result.exit_code == 1
    assert message in result.stderr
    assert run(runner, "import", tmp_path / "missing.csv").exit_code == 2  # click: no such file


def minute_rows(count: int, ticker: str = "AAA") -> list[tuple]:
    """`count` one-minute bars from 2020-01-01 on."""
    start = datetime(2020, 1, 1)
    return [
        ((start + timedelta(minutes=m)).isoformat(" "), 1, 2, 0.5, 1.5, m, ticker)
        for m in range(count)
    ]


def test_an_unterminated_quote_rejects_its_own_line_only(app, runner, tmp_path):
    """The issue's file: 10,000 rows, one quote left open in the middle. It used to swallow the
    4,096 lines after it into one field and reject that with an empty record."""
    rows = minute_rows(10_000)
    rows[5000] = (*rows[5000][:6], '"AAA')
    source = tmp_path / "quote.csv"
    write_prices(source, rows)
    result = run(runner, "import", source)
    assert result.exit_code == 1
    assert f"{source}:5002: unterminated quote: a quoted field must end on its own line" in (
        result.stderr
    )
    assert "10000 rows read, 9999 inserted, 0 updated, 0 unchanged, 1 rejected" in result.stdout
    assert fetch(app, "SELECT count(*) FROM stock_prices") == [(9999,)]
    with open(tmp_path / "quote.rejects.csv", newline="") as file:
        written = list(csv.reader(file))[1:]
    assert [row[1:] for row in written] == [
        ["5002", "unterminated quote: a quoted field must end on its own line",
         f'{rows[5000][0]},1,2,0.5,1.5,5000,"AAA']
    ]  # fmt: skip


@pytest.mark.parametrize("count", [200_000, 3_000], ids=["several-batches", "one-batch"])
def test_a_cut_gzip_keeps_every_whole_row_before_the_cut(app, runner, tmp_path, count):
    """Cut at two thirds: every whole row before the cut is stored, the summary says exactly
    what the table holds, and the command names the line where reading stopped (exit 3). It used
    to roll back the batch in flight while counting it "unchanged", and to drop the rows of the
    chunk the cut fell in (all of them in a small file)."""
    plain = tmp_path / "plain.csv"
    write_prices(plain, minute_rows(count))
    data = gzip.compress(plain.read_bytes())
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    readable = zlib.decompressobj(wbits=31).decompress(cut.read_bytes())
    whole = readable.count(b"\n") - 1  # the header is no row
    assert count // 2 < whole < count

    result = run(runner, "import", cut)
    assert result.exit_code == 3
    line = whole + 2  # the header is line 1
    assert f"{cut}: the file is cut or damaged at line {line} (" in result.stderr
    assert f"the rows before line {line} were read, nothing from line {line} on" in result.stderr
    assert f"{whole} rows read, {whole} inserted, 0 updated, 0 unchanged, 0 rejected" in (
        result.stdout
    )
    assert fetch(app, "SELECT count(*) FROM stock_prices") == [(whole,)]

    again = run(runner, "import", cut)  # the same file again: the summary still adds up
    assert again.exit_code == 3
    assert f"{whole} rows read, 0 inserted, 0 updated, {whole} unchanged, 0 rejected" in (
        again.stdout
    )


def test_a_line_longer_than_the_limit_is_rejected_with_its_number(app, runner, tmp_path):
    source = tmp_path / "long.csv"
    write_prices(source, minute_rows(3))
    with source.open("a") as file:
        file.write(f"2021-01-01,1,2,0.5,1.5,1,{'A' * MAX_LINE_BYTES}\n")
        file.write("2021-01-02,1,2,0.5,1.5,1,BBB\n")
    result = run(runner, "import", source)
    assert result.exit_code == 1
    size = MAX_LINE_BYTES + len("2021-01-01,1,2,0.5,1.5,1,\n")
    assert f"{source}:5: line longer than {MAX_LINE_BYTES} bytes ({size} bytes)" in result.stderr
    assert "5 rows read, 4 inserted, 0 updated, 0 unchanged, 1 rejected" in result.stdout
    assert fetch(app, "SELECT count(*) FROM stock_prices") == [(4,)]


def test_tickers_command_sets_names_and_industries(app, runner, tmp_path):
    source = tmp_path / "tickers.csv"
    source.write_text("Symbol,Name,Sector\nAAA,Alpha Inc.,Tech\nbbb,Beta plc,\n,Nameless,X\n")
    result = run(runner, "tickers", source)
    assert result.exit_code == 1  # the row without a ticker
    assert f"{source}:4: missing ticker" in result.stderr
    source.write_text("ticker,name,industry\nBBB,,Banks\n")
    assert run(runner, "tickers", source).exit_code == 0
    assert fetch(app, "SELECT ticker, name, industry FROM stock_tickers ORDER BY ticker") == [
        ("AAA", "Alpha Inc.", "Tech"),
        ("BBB", "Beta plc", "Banks"),  # an empty name keeps the stored one
    ]


def test_demo_fills_an_empty_database_only(app, runner):
    result = run(runner, "demo")
    assert result.exit_code == 0, result.output
    rows = generate_rows()
    assert rows == generate_rows()  # deterministic
    assert fetch(app, "SELECT count(*) FROM stock_prices") == [(len(rows),)]
    tickers = fetch(app, "SELECT ticker, name, industry FROM stock_tickers ORDER BY ticker")
    assert len(tickers) == len(DEMO_TICKERS) == 10
    assert all(
        name.endswith("(demo)") and industry == DEMO_INDUSTRY for _, name, industry in tickers
    )
    days = fetch(app, "SELECT min(time), max(time), count(DISTINCT time) FROM stock_prices")[0]
    assert days[2] > 5 * 250  # five years of weekdays
    bad = fetch(
        app,
        "SELECT count(*) FROM stock_prices WHERE low > open OR low > close OR high < open "
        "OR high < close OR low <= 0 OR volume <= 0",
    )
    assert bad == [(0,)]

    again = run(runner, "demo")
    assert again.exit_code == 1
    assert "already has rows" in again.stderr
    quiet = run(runner, "demo", "--if-empty")
    assert quiet.exit_code == 0
    assert fetch(app, "SELECT count(*) FROM stock_prices") == [(len(rows),)]


# What a file may hold in its ticker column (the one rule of app/prices/tickers.py): index and
# class-share symbols import, anything else is refused with the rule's reason.
SYMBOL = "not a ticker symbol: use letters, digits and ^ . - = (^ only first, a letter or digit"
TICKER_CASES = [
    ("^GSPC", None),
    ("brk.b", None),  # stored as BRK.B
    ("BRK-B", None),
    ("ES=F", None),
    ("BRK/B", "not a ticker symbol: a slash is not allowed (write BRK/B as BRK.B): 'BRK/B'"),
    ("ÄPPL", "not a ticker symbol: only ASCII letters, digits and ^ . - = are allowed: 'ÄPPL'"),
    ("A B", "not a ticker symbol: blanks are not allowed: 'A B'"),
    ("<script>", f"{SYMBOL} first and last): '<SCRIPT>'"),
    ("A\x1bB", f"{UNPRINTABLE}: 'A\\x1bB'"),
    ("A\\B", f"{SYMBOL} first and last): 'A\\\\B'"),
    ("C'D", f"{SYMBOL} first and last): \"C'D\""),
    ("C,M", "not a ticker symbol: a comma is not allowed (it separates tickers): 'C,M'"),
]


@pytest.mark.parametrize("quoted", [False, True], ids=["vectorised", "csv-module"])
def test_tickers_follow_the_one_rule_with_line_numbered_reasons(app, runner, tmp_path, quoted):
    """Two rows per ticker, so that the second takes the row-by-row parser's fast path. Unquoted,
    every chunk but the one holding the quoted "C,M" goes through the vectorised parser; quoted,
    the whole file goes through the csv module."""
    lines = ["date,open,high,low,close,volume,ticker"]
    expected = []
    for ticker, reason in TICKER_CASES:
        field = f'"{ticker}"' if quoted or "," in ticker else ticker
        for day in (2, 3):
            lines.append(f"2020-01-0{day},1,2,0.5,1.5,1,{field}")
            if reason is not None:
                expected.append((len(lines), reason))
    source = tmp_path / "symbols.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = run(runner, "import", "--batch-size", 2, source)
    assert result.exit_code == 1
    reported = [line for line in result.stderr.splitlines() if line.startswith(str(source))]
    assert reported == [f"{source}:{line}: {reason}" for line, reason in expected]
    assert "24 rows read, 8 inserted, 0 updated, 0 unchanged, 16 rejected" in result.stdout
    with open(tmp_path / "symbols.rejects.csv", newline="", encoding="utf-8") as file:
        written = list(csv.reader(file))[1:]
    assert [(int(row[1]), row[2]) for row in written] == expected
    assert written[-1][3:] == ["2020-01-03", "1", "2", "0.5", "1.5", "1", "C,M"]
    stored = ["BRK-B", "BRK.B", "ES=F", "^GSPC"]
    assert sorted(fetch(app, "SELECT ticker FROM stock_tickers")) == [(t,) for t in stored]
    counts = fetch(app, "SELECT ticker, count(*) FROM stock_prices GROUP BY ticker")
    assert sorted(counts) == [(ticker, 2) for ticker in stored]


def test_tickers_command_follows_the_ticker_rule(app, runner, tmp_path):
    source = tmp_path / "names.csv"
    source.write_text(
        "symbol,name,industry\n"
        "^gspc,S&P 500,Index\n"  # 2
        "BRK.B,Berkshire Hathaway,Financials\n"  # 3
        "BRK/B,Berkshire Hathaway,Financials\n"  # 4
        f"LONG,{'n' * (TICKER_NAME_MAX + 1)},X\n"  # 5
        "A B,Blank,X\n"  # 6
        "ONE\n"  # 7
    )
    result = run(runner, "tickers", source)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{source}:4: not a ticker symbol: a slash is not allowed (write BRK/B as BRK.B): 'BRK/B'",
        f"{source}:5: name or industry longer than {TICKER_NAME_MAX} characters",
        f"{source}:6: not a ticker symbol: blanks are not allowed: 'A B'",
        f"{source}:7: expected 3 fields, found 1",
    ]
    assert f"{source}: 6 rows read, 2 tickers stored, 4 rejected" in result.stdout
    assert sorted(fetch(app, "SELECT ticker, name, industry FROM stock_tickers")) == [
        ("BRK.B", "Berkshire Hathaway", "Financials"),
        ("^GSPC", "S&P 500", "Index"),
    ]


def test_tickers_command_counts_the_records_it_cannot_split(app, runner, tmp_path):
    source = tmp_path / "names.csv"
    limit = csv.field_size_limit()
    source.write_text(f"ticker,name\nAAA,Alpha\nHUGE,{'x' * (limit + 1)}\nBBB,Beta\n")
    result = run(runner, "tickers", source)
    assert result.exit_code == 1
    assert f"{source}:3: malformed CSV: field larger than field limit ({limit})" in result.stderr
    # The summary counts what was read, the record the csv module could not split included.
    assert f"{source}: 3 rows read, 2 tickers stored, 1 rejected" in result.stdout


@pytest.mark.parametrize("quoted", [False, True], ids=["vectorised", "csv-module"])
def test_dates_outside_1900_to_tomorrow_are_rejected_and_the_chart_still_works(
    app, runner, client, auth, user, tmp_path, quoted
):
    """Year 1 used to be stored, and the ticker's chart, CSV and zoom answered 500 for good."""
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    ticker = '"ACME"' if quoted else "ACME"
    days = ["2020-01-02", "0001-01-03", "9999-12-31", "1899-12-31", "0001-01-01T00:00:00+01:00",
            "1900-01-01", tomorrow.isoformat(), (tomorrow + timedelta(days=1)).isoformat()]
    source = tmp_path / "dates.csv"
    source.write_text("date,open,high,low,close,volume,ticker\n" + "".join(
        f"{day},1,2,0.5,{number},1,{ticker}\n" for number, day in enumerate(days, start=1)
    ))  # fmt: skip
    result = run(runner, "import", source)
    assert result.exit_code == 1
    reason = f"date out of range 1900-01-01 to {tomorrow}"
    reported = [line for line in result.stderr.splitlines() if line.startswith(str(source))]
    assert reported == [
        f"{source}:{line}: {reason}: {days[line - 2]!r}" for line in (3, 4, 5, 6, 9)
    ]
    assert [row[5] for row in price_rows(app)] == [6.0, 1.0, 7.0]  # 1900, 2020, tomorrow

    auth.login()
    view = view_of(app, client, "?tickers=ACME")
    chart = call(client, app, callback_key(app, "price-chart.figure", "notices"),
                 [(ids.URL, "search", view["query"]), (ids.THEME, "data", "light")])
    assert chart.status_code == 200
    traces = chart.get_json()["response"][ids.PRICE_CHART]["figure"]["data"]
    assert [trace["name"] for trace in traces if trace.get("name") == "ACME"]
    download = call(client, app, callback_key(app, "download.data"),
                    [(ids.DOWNLOAD_BUTTON, "n_clicks", 1)],
                    state=[(ids.VIEW, "data", view)])
    assert download.status_code == 200
    content = download.get_json()["response"][ids.DOWNLOAD]["data"]["content"]
    assert [float(row["close"]) for row in csv.DictReader(io.StringIO(content))] == [6, 1, 7]


def test_warnings_are_listed_with_line_kind_and_value(app, runner, tmp_path):
    """Negative and zero prices used to be stored silently, and the other warnings only
    counted: each is now a row of the warnings file, and the summary gives them by kind."""
    source = tmp_path / "odd.csv"
    write_prices(source, [
        ("2020-01-02", 1, 2, 0.5, 1.5, 100, "AAA"),  # 2: fine
        ("2020-01-03", -1, 2, 0, 0, 100, "AAA"),  # 3: negative open, zero low and close
        ("2020-01-06", "", 2, 0.5, 1.5, "", "AAA"),  # 4: no open, no volume
        ("2020-01-07", 1, 2, 0.5, 2.5, 100, "AAA"),  # 5: close above high
        ("2020-01-08", 1, 2, -0.5, 2.5, 100, "AAA"),  # 6: close above high, negative low
        ("2020-01-02", 9, 9, 9, 9, 9, "AAA"),  # 7: line 2's key again (line 2 is kept)
    ])  # fmt: skip
    listed = tmp_path / "listed.csv"
    result = run(runner, "import", "--warnings", listed, source)
    assert result.exit_code == 0, result.output
    assert "6 rows read, 5 inserted, 0 updated, 1 unchanged, 0 rejected, 6 warnings" in (
        result.stdout
    )
    assert (
        f"{source}: 6 warnings (2 price not positive, 2 close outside low-high, 1 missing value, "
        f"1 key repeated in the file), written to {listed}"  # most first, then as first met
    ) in result.stdout
    with listed.open(newline="") as file:
        assert list(csv.reader(file)) == [
            ["file", "line", "kind", "value"],
            [str(source), "3", "price not positive", "open=-1.0 low=0.0 close=0.0"],
            [str(source), "4", "missing value", "open volume"],
            [str(source), "5", "close outside low-high", "low=0.5 close=2.5 high=2.0"],
            [str(source), "6", "close outside low-high", "low=-0.5 close=2.5 high=2.0"],
            [str(source), "6", "price not positive", "low=-0.5"],
            [str(source), "7", "key repeated in the file", "AAA 2020-01-02T00:00:00.000000"],
        ]
    assert not (tmp_path / "odd.warnings.csv").exists()  # --warnings chose the place
    assert run(runner, "import", source).exit_code == 0
    assert (tmp_path / "odd.warnings.csv").exists()  # the default: beside the input


# A database that refuses a row, as a full disk or a broken connection would refuse a batch.
REFUSE_BIG_CLOSE = {
    "sqlite": (
        "CREATE TRIGGER refuse_big_close BEFORE INSERT ON stock_prices WHEN NEW.close >= 100 "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        "DROP TRIGGER refuse_big_close",
    ),
    "postgresql": (
        "ALTER TABLE stock_prices ADD CONSTRAINT refuse_big_close CHECK (close < 100) NOT VALID",
        "ALTER TABLE stock_prices DROP CONSTRAINT refuse_big_close",
    ),
}


def test_a_database_error_exits_4_and_the_summary_counts_the_rolled_back_rows(
    app, runner, tmp_path
):
    source = tmp_path / "refused.csv"
    write_prices(source, [(f"2020-01-0{day}", 1, 2, 0.5, 1.5 if day < 6 else 150, 1, "AAA")
                          for day in range(1, 7)])  # fmt: skip
    with app.app_context():
        create, drop = REFUSE_BIG_CLOSE[db.engine.dialect.name]
        with db.engine.begin() as connection:
            connection.exec_driver_sql(create)
    try:
        result = run(runner, "import", "--batch-size", 2, source)
    finally:
        with app.app_context(), db.engine.begin() as connection:
            connection.exec_driver_sql(drop)
    assert result.exit_code == 4
    assert "Database error, the batch in progress was rolled back" in result.stderr
    assert (
        "6 rows read, 4 inserted, 0 updated, 0 unchanged, 0 rejected, 2 not stored (rolled back)"
    ) in result.stdout
    assert fetch(app, "SELECT count(*) FROM stock_prices") == [(4,)]


def planner_rows(app) -> float:
    """How many rows the planner believes `stock_prices` holds (pg_class.reltuples: ANALYZE
    writes it at once, in its own transaction, unlike the statistics views)."""
    return fetch(app, "SELECT reltuples FROM pg_class WHERE oid = 'stock_prices'::regclass")[0][0]


def test_a_large_import_brings_the_planners_statistics_up_to_date(app, runner, tmp_path):
    """Right after a first load the planner believed stock_prices nearly empty and could pick a
    plan that ran into the statement timeout; an import that writes more than autovacuum's
    threshold analyzes the tables it wrote at once, a small one leaves that to autovacuum."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("planner statistics are PostgreSQL's (SQLite plans without them)")
    start = datetime(2020, 1, 1)
    many = tmp_path / "many.csv"
    write_prices(many, [
        ((start + timedelta(days=n)).date().isoformat(), 1, 2, 0.5, 1.5, 100, f"T{n % 5}")
        for n in range(400)
    ])  # fmt: skip
    with app.app_context():
        with db.engine.begin() as connection:
            # What the planner believes now, not what earlier tests left: the table is empty.
            connection.execute(text("ANALYZE stock_prices"))
        db.engine.dispose()
    assert planner_rows(app) == 0
    assert run(runner, "import", many).exit_code == 0
    assert planner_rows(app) == 400  # every row of a table this small is in ANALYZE's sample
    few = tmp_path / "few.csv"
    write_prices(few, [("2019-12-31", 1, 2, 0.5, 1.5, 100, "T0")])
    assert run(runner, "import", few).exit_code == 0
    assert planner_rows(app) == 400  # one row more: not analyzed again
