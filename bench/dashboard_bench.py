"""The dashboard's chart callback against a naive callback that sends every stored row.

    .venv/bin/python bench/dashboard_bench.py [--runs 5] [--quick] [--indicators-only]

Creates a scratch PostgreSQL database (dropped at the end), imports the real daily prices of
AAPL and MSFT from the real file (`STOCKDASH_TEST_DATA`, see bench/harness.py) and a generated
year of one-minute bars for one ticker (98,280 rows), and logs in through the login form. Then,
for each range, it POSTs the chart callback through the Flask test client exactly as the browser
does:

- **real**: Dash's `/dash/_dash-update-component` running `update_chart` (SQL aggregation to at
  most 2,000 buckets per ticker via `price_series`);
- **naive**: a route registered in this script's app only, `/dash/_bench-naive-chart`, taking
  the same request body and answering the same JSON shape, serialised by the same function Dash
  uses, with the same figure and notices code; only the rows differ: a plain
  `SELECT time, open, high, low, close, volume FROM stock_prices WHERE ticker = :t AND time >= :s
  AND time < :e ORDER BY time` per ticker, every row sent.

Both go through the whole Flask stack (login check, Flask-Compress), so each time covers the
queries, the figure, JSON serialisation and gzip. Sizes are the body as sent with
`Accept-Encoding: gzip` and without it. Each variant is called once to warm up, then --runs
times, alternating real and naive; the medians are reported.

Then the research notes: NOTES_PER_TICKER notes on each daily ticker, spread over its five
years, and the same daily charts drawn with their markers (`notes=1`, the default: at most
MAX_NOTE_MARKERS per chart, one bounded query) and without (`notes=0`), taking turns; the
table gives both medians and their ratio.

Then the indicators (issue 13): five years of daily candlesticks with the volume panel for
INDICATOR_TICKERS, drawn with `indicators=rsi,macd,bollinger` and without, taking turns; the
ratio of the medians has the target MAX_INDICATOR_RATIO. `--indicators-only` measures only
this (and imports no minute bars).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask, Response, request
from harness import (
    BENCH_EMAIL,
    BENCH_PASSWORD,
    alternate,
    bench_config,
    database_with_prices,
    markdown_table,
    option_parser,
    parse_options,
    verdict,
)
from plotly.io.json import to_json_plotly
from sqlalchemy import DateTime, insert, select, text

from app import create_app
from app.extensions import db
from app.models import Note, StockPrice, User
from app.notes.markers import MAX_NOTE_MARKERS
from app.prices.queries import PriceSeries, time_range
from dashapp import ids
from dashapp.callbacks import notice_alerts, theme_name
from dashapp.figures import build_figure
from dashapp.urlstate import parse_query
from tests.support.dash_client import UPDATE_URL, callback_key, count_points, request_body
from tests.support.data import MINUTE_TICKER
from tests.support.users import AuthActions

# Under /dash/ so that it passes the same login check and CSRF exemption as Dash's callbacks.
NAIVE_URL = "/dash/_bench-naive-chart"
DAILY_TICKERS = ("AAPL", "MSFT")
NAIVE_ROWS = text(
    "SELECT time, open, high, low, close, volume FROM stock_prices "
    "WHERE ticker = :t AND time >= :s AND time < :e ORDER BY time"
).columns(time=DateTime())
MAX_BYTES = 200_000
MAX_TIME_RATIO = 0.1
NOTES_PER_TICKER = 1000
INDICATOR_TICKERS = ("AAPL", "MSFT", "GOOGL")
INDICATOR_VIEW = (f"?tickers={','.join(INDICATOR_TICKERS)}&chart=candlestick&volume=1"
                  "&start=2013-02-08&end=2018-02-07")
ALL_INDICATORS = "&indicators=rsi,macd,bollinger"
MAX_INDICATOR_RATIO = 1.3


@dataclass(frozen=True)
class Case:
    """One chart to draw: a label, how many stored rows it covers, and the view's query."""

    label: str
    data: str
    query: str


# The daily data ends on 2018-02-07, the minute bars on 2021-12-21. Every case is a candlestick
# with the volume panel, the heaviest chart the dashboard draws (four price arrays and volume).
DAILY = "tickers=AAPL,MSFT&chart=candlestick&volume=1"
MINUTE = f"tickers={MINUTE_TICKER}&chart=candlestick&volume=1"
CASES = (
    Case("1 day", "daily", f"?{DAILY}&start=2018-02-07&end=2018-02-07"),
    Case("1 month", "daily", f"?{DAILY}&start=2018-01-08&end=2018-02-07"),
    Case("1 year", "daily", f"?{DAILY}&start=2017-02-07&end=2018-02-07"),
    Case("5 years", "daily", f"?{DAILY}&start=2013-02-08&end=2018-02-07"),
    Case("1 day", "minute", f"?{MINUTE}&start=2021-12-21&end=2021-12-21"),
    Case("1 month", "minute", f"?{MINUTE}&start=2021-11-22&end=2021-12-21"),
    Case("1 year", "minute", f"?{MINUTE}"),
)


@dataclass(frozen=True)
class Measure:
    """One variant on one case: bars sent, median seconds, body bytes gzipped and not."""

    bars: int
    seconds: float
    gzip_bytes: int
    raw_bytes: int


def naive_series(tickers, start, end) -> dict[str, PriceSeries]:
    """Every stored row of each ticker in [start, end), one plain query per ticker."""
    low, high = time_range(start, end)
    connection = db.session.connection()
    result = {}
    for ticker in tickers:
        series = PriceSeries(ticker)
        for row in connection.execute(NAIVE_ROWS, {"t": ticker, "s": low, "e": high}):
            series.append(row)
        if series.time:
            result[ticker] = series
    return result


def naive_update_chart(search, theme):
    """`dashapp.callbacks.update_chart` with the naive rows instead of `price_series`."""
    view = parse_query(search)
    series = naive_series(view.tickers, view.start, view.end)
    notices = list(view.notices)
    missing = [t for t in view.tickers if t not in series]
    if view.tickers and missing:
        notices.append(f"No prices in this date range for: {', '.join(missing)}.")
    return build_figure(series, view, theme_name(theme)), notice_alerts(notices)


def add_naive_route(app: Flask) -> None:
    """Serve `naive_update_chart` for a Dash callback body, answering Dash's response shape."""

    def naive_chart():
        body = request.get_json()
        values = {item["id"]: item["value"] for item in body["inputs"] + body["state"]}
        figure, notices = naive_update_chart(values[ids.URL], values[ids.THEME])
        payload = {
            "multi": True,
            "response": {
                "price-chart": {"figure": figure},
                "notices": {"children": notices},
            },
        }
        # Dash serialises callback answers with this same function.
        return Response(to_json_plotly(payload), mimetype="application/json")

    app.add_url_rule(NAIVE_URL, "bench_naive_chart", naive_chart, methods=["POST"])


def chart_callback_body(app: Flask, query: str) -> dict:
    """The body the browser POSTs to run `update_chart` for the view `query`, built from the
    callback's declared inputs and state (the URL's query, and the theme)."""
    key = callback_key(app, "price-chart.figure", "notices")
    callback = app.extensions["dash_app"].callback_map[key]
    values = {ids.URL: query, ids.THEME: "light"}

    def entries(kind):
        return [
            {"id": item["id"], "property": item["property"], "value": values[item["id"]]}
            for item in callback[kind]
        ]

    inputs = entries("inputs")
    return request_body(key, inputs, entries("state"), (inputs[0]["id"], inputs[0]["property"]))


def log_in(client) -> None:
    """Log in through the real form, CSRF token included."""
    response = AuthActions(client).login(BENCH_EMAIL, BENCH_PASSWORD)
    if response.status_code != 302:
        raise RuntimeError(f"login failed: {response.status_code}")


def post(client, url: str, body: dict, gzip: bool):
    """POST a callback body; fail loudly on anything but a compressed (if asked) 200."""
    headers = {"Accept-Encoding": "gzip"} if gzip else {}
    response = client.post(url, json=body, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.get_data(as_text=True)}")
    if gzip and response.headers.get("Content-Encoding") != "gzip":
        raise RuntimeError(f"{url}: the response was not gzip-compressed")
    return response


def alternate_chart_bodies(client, bodies: dict[str, dict], runs: int) -> dict:
    """The real chart callback POSTed with each of `bodies` in turn (gzip), `runs` times
    each after a warm-up call (harness.alternate): their timings by name."""
    return alternate(
        {name: lambda body=body: post(client, UPDATE_URL, body, gzip=True)
         for name, body in bodies.items()},
        runs,
    )


def figure_size(client, url: str, body: dict) -> tuple[int, int]:
    """Uncompressed bytes of the answer, and the bars its price traces carry (all tickers)."""
    response = post(client, url, body, gzip=False)
    figure = response.get_json()["response"]["price-chart"]["figure"]
    bars = sum(
        count_points(trace["close"])
        for trace in figure["data"]
        if trace.get("type") == "candlestick"
    )
    return len(response.get_data()), bars


def measure_case(app: Flask, client, case: Case, runs: int) -> dict[str, Measure]:
    """Both variants on one case: a warm-up call each, then `runs` alternating timed calls."""
    body = chart_callback_body(app, case.query)
    urls = {"real": UPDATE_URL, "naive": NAIVE_URL}
    timings = alternate(
        {name: lambda url=url: post(client, url, body, gzip=True) for name, url in urls.items()},
        runs,
    )
    result = {}
    for name, url in urls.items():
        raw, bars = figure_size(client, url, body)
        timing = timings[name]
        result[name] = Measure(bars, timing.median, len(timing.result.get_data()), raw)
    return result


def report(results: list[tuple[Case, dict[str, Measure]]], runs: int) -> str:
    """The side-by-side table and the verdicts against the targets."""
    header = ["data", "range"]
    for variant in ("real", "naive"):
        header += [f"{variant} bars", f"{variant} ms", f"{variant} gzip kB", f"{variant} raw kB"]
    rows = []
    for case, measures in results:
        real, naive = measures["real"], measures["naive"]
        row = [case.data, case.label]
        for measure in (real, naive):
            row += [
                f"{measure.bars:,}",
                f"{measure.seconds * 1000:.0f}",
                f"{measure.gzip_bytes / 1000:.1f}",
                f"{measure.raw_bytes / 1000:.1f}",
            ]
        rows.append([*row, f"{real.seconds / naive.seconds:.3f}"])
    lines = [
        f"Median of {runs} warm runs per variant; bytes = response body, gzip as sent with "
        "Accept-Encoding: gzip.",
        "",
        *markdown_table([*header, "time real/naive"], "ll" + "r" * 9, rows),
    ]
    largest = max(m["real"].raw_bytes for _, m in results)
    largest_gzip = max(m["real"].gzip_bytes for _, m in results)
    minute_year = next(m for c, m in results if c.data == "minute" and c.label == "1 year")
    ratio = minute_year["real"].seconds / minute_year["naive"].seconds
    lines += [
        "",
        f"largest real response: {largest / 1000:.1f} kB raw, {largest_gzip / 1000:.1f} kB gzip "
        f"(target <= {MAX_BYTES / 1000:.0f} kB): {verdict(largest <= MAX_BYTES)}",
        f"minute data, 1 year, time real/naive: {ratio:.3f}x (target <= {MAX_TIME_RATIO}x): "
        f"{verdict(ratio <= MAX_TIME_RATIO)}",
    ]
    return "\n".join(lines)


def add_notes(app: Flask, per_ticker: int) -> int:
    """`per_ticker` notes by the bench user on each daily ticker, spread evenly over its whole
    range, created a minute apart; return how many were written."""
    with app.app_context():
        author = db.session.scalar(select(User.id).where(User.email == BENCH_EMAIL))
        rows = []
        for ticker in DAILY_TICKERS:
            days = db.session.scalars(select(StockPrice.time).where(StockPrice.ticker == ticker)
                                      .order_by(StockPrice.time)).all()
            # Evenly over the range (several a day when there are more notes than days).
            spread = [days[i * len(days) // per_ticker] for i in range(per_ticker)] if days else []
            rows += [{"user_id": author, "ticker": ticker, "as_of": day.date(),
                      "body": f"Note {i} on {ticker}: <b>support</b> holds & volume rises",
                      "created_at": datetime(2018, 3, 1, tzinfo=UTC) + timedelta(minutes=i)}
                     for i, day in enumerate(spread)]
        db.session.execute(insert(Note), rows)
        db.session.commit()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE notes")
        db.engine.dispose()
    return len(rows)


def measure_notes(app: Flask, client, runs: int) -> list[tuple[Case, dict[str, Measure]]]:
    """Each daily case drawn with its notes and with `notes=0`, taking turns."""
    results = []
    for case in CASES:
        if case.data != "daily":
            continue
        print(f"notes: {case.label} ...", file=sys.stderr, flush=True)
        bodies = {"notes=1": chart_callback_body(app, case.query + "&notes=1"),
                  "notes=0": chart_callback_body(app, case.query + "&notes=0")}
        timings = alternate_chart_bodies(client, bodies, runs)
        measures = {}
        for name, timing in timings.items():
            figure = post(client, UPDATE_URL, bodies[name], gzip=False).get_json()
            markers = sum(count_points(trace["x"]) for trace in figure["response"]["price-chart"][
                "figure"]["data"] if trace.get("name", "").endswith(" notes"))
            measures[name] = Measure(markers, timing.median, len(timing.result.get_data()), 0)
        results.append((case, measures))
    return results


def notes_report(results: list[tuple[Case, dict[str, Measure]]], notes: int) -> str:
    """The on/off table of the notes' markers."""
    rows = []
    for case, measures in results:
        on, off = measures["notes=1"], measures["notes=0"]
        rows.append([case.label, f"{on.bars}", f"{on.seconds * 1000:.1f}",
                     f"{off.seconds * 1000:.1f}", f"{on.gzip_bytes / 1000:.1f}",
                     f"{off.gzip_bytes / 1000:.1f}", f"{on.seconds / off.seconds:.2f}"])
    return "\n".join([
        f"Notes: {notes:,} notes on {', '.join(DAILY_TICKERS)} (at most {MAX_NOTE_MARKERS} "
        "markers a chart); daily candlesticks with the volume panel.",
        "",
        *markdown_table(["range", "markers", "notes=1 ms", "notes=0 ms", "notes=1 gzip kB",
                         "notes=0 gzip kB", "time on/off"], "lrrrrrr", rows),
    ])


def measure_indicators(app: Flask, client, runs: int) -> dict[str, Measure]:
    """The five-year chart of INDICATOR_TICKERS with every indicator and without, taking
    turns; `bars` counts the candlestick bars sent."""
    bodies = {"with": chart_callback_body(app, INDICATOR_VIEW + ALL_INDICATORS),
              "without": chart_callback_body(app, INDICATOR_VIEW)}
    timings = alternate_chart_bodies(client, bodies, runs)
    measures = {}
    for name, timing in timings.items():
        raw, bars = figure_size(client, UPDATE_URL, bodies[name])
        measures[name] = Measure(bars, timing.median, len(timing.result.get_data()), raw)
    return measures


def indicators_report(measures: dict[str, Measure], runs: int) -> str:
    """The with/without table of the indicators and the verdict."""
    with_, without = measures["with"], measures["without"]
    ratio = with_.seconds / without.seconds
    rows = [[name, f"{m.bars:,}", f"{m.seconds * 1000:.1f}", f"{m.gzip_bytes / 1000:.1f}",
             f"{m.raw_bytes / 1000:.1f}"] for name, m in (("rsi,macd,bollinger", with_),
                                                         ("none", without))]
    return "\n".join([
        f"Indicators: {', '.join(INDICATOR_TICKERS)}, daily candlesticks with volume, "
        f"2013-02-08 to 2018-02-07; median of {runs} warm runs each, taking turns.",
        "",
        *markdown_table(["indicators", "bars", "ms", "gzip kB", "raw kB"], "lrrrr", rows),
        "",
        f"time with/without indicators: {ratio:.3f}x (target <= {MAX_INDICATOR_RATIO}x): "
        f"{verdict(ratio <= MAX_INDICATOR_RATIO)}",
    ])


def main() -> None:
    """Load the data into a scratch database, measure every case, print the report."""
    parser = option_parser(__doc__, runs=5)
    parser.add_argument("--notes", type=int, default=NOTES_PER_TICKER,
                        help="notes per daily ticker (default %(default)s)")
    parser.add_argument("--indicators-only", action="store_true",
                        help="measure only the chart with and without indicators")
    options = parse_options(parser, runs=1)

    tickers = tuple(dict.fromkeys(DAILY_TICKERS + INDICATOR_TICKERS))
    with database_with_prices("stockdash_bench_dash", tickers,
                              minute_bars=not options.indicators_only) as url:
        app = create_app(bench_config(url))
        add_naive_route(app)  # before the first request, as Flask requires
        client = app.test_client()
        log_in(client)
        print("indicators ...", file=sys.stderr, flush=True)
        indicators = measure_indicators(app, client, options.runs)
        if options.indicators_only:
            with app.app_context():
                db.engine.dispose()  # before the scratch database is dropped
            print(indicators_report(indicators, options.runs))
            return
        results = []
        for case in CASES:
            print(f"{case.data} {case.label} ...", file=sys.stderr, flush=True)
            results.append((case, measure_case(app, client, case, options.runs)))
        # After the comparison with the naive callback, which draws no notes.
        notes = add_notes(app, options.notes)
        notes_results = measure_notes(app, client, options.runs)
        with app.app_context():
            db.engine.dispose()
    print(report(results, options.runs))
    print()
    print(notes_report(notes_results, notes))
    print()
    print(indicators_report(indicators, options.runs))


if __name__ == "__main__":
    main()
