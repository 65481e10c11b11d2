"""First load of the dashboard in headless Chromium against a default Dash 4 page.

    .venv/bin/python bench/first_load_bench.py [--runs 5] [--quick] [--timeline] [--resources]

Three pages are served in turn by gunicorn with the same settings (the project's
gunicorn.conf.py, 2 gthread workers) on 127.0.0.1, ports 18400-18499:

* ``stockdash``          the real app (`wsgi:app`) on a scratch PostgreSQL database holding the
                         real daily prices of AAPL and MSFT (`STOCKDASH_TEST_DATA`, see
                         bench/harness.py); the page opened, after logging in
                         through the form, is
                         `/dash/?tickers=AAPL,MSFT&start=2016-01-01&end=2016-12-31&chart=candlestick`;
* ``default``            a minimal Dash 4 app: one `dcc.Graph` holding a candlestick figure of the
                         same rows (AAPL and MSFT, 2016, from the same file), default settings,
                         so Dash serves its own scripts and the full plotly.min.js, with
                         `compress=True` (Flask-Compress, as stockdash uses);
* ``default-nocompress`` the same without `compress=True`: what an untouched Dash app sends.

Each run starts a new Chromium (a new, empty profile, the browser tests' options) with the HTTP
cache disabled through CDP
(`Network.setCacheDisabled`), opens the page and waits until the chart is drawn: a script
installed before the page's own scripts checks on every animation frame whether
`#price-chart .js-plotly-plot` has data and a drawn trace, and records `performance.now()`
(milliseconds since navigation start). It then waits until no request has started for 1.5 s
and sums, over every request of the page, the bytes Chromium received from the network
(CDP `Network.loadingFinished.encodedDataLength`: headers plus the compressed body; the
favicon left out). Chromium offers zstd on loopback and Flask-Compress picks it; pass
`--accept-encoding gzip` to measure gzip instead. The variants
run interleaved, round after round; medians are reported, and the bytes ratio is the target's.

The module doubles as gunicorn's app module for the default page:
`first_load_bench:default_dash_app(compress=True)`.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from harness import (
    BENCH_EMAIL,
    BENCH_PASSWORD,
    database_with_prices,
    gunicorn_serving,
    markdown_table,
    option_parser,
    parse_options,
    rounds,
    server_environment,
    start_chromium,
    verdict,
)

from tests.support.data import real_price_file

PORT_RANGE = range(18400, 18500)
TICKERS = ("AAPL", "MSFT")
FIRST_DAY, LAST_DAY = "2016-01-01", "2016-12-31"
DASH_PATH = f"/dash/?tickers={','.join(TICKERS)}&start={FIRST_DAY}&end={LAST_DAY}&chart=candlestick"
TARGET_BYTES_RATIO = 0.5
QUIET_SECONDS = 1.5
MAX_ATTEMPTS = 3

# Runs before the page's own scripts; marks the first animation frame with a drawn chart, and
# for --timeline records every fetch the page makes (Dash's layout, dependencies and callback
# requests, with the outputs each callback asked for) and the main thread's long tasks.
WATCH_FIRST_CHART = """
(function () {
  window.__fetches = [];
  window.__longTasks = [];
  var originalFetch = window.fetch;
  window.fetch = function (resource, init) {
    var url = typeof resource === 'string' ? resource : resource.url;
    var entry = {url: url, start: performance.now(), end: null, output: null};
    try { entry.output = JSON.parse(init.body).output; } catch (e) { /* not a callback */ }
    window.__fetches.push(entry);
    return originalFetch.apply(this, arguments).then(function (response) {
      return response.clone().text().then(function () {
        entry.end = performance.now();
        return response;
      });
    });
  };
  try {
    new PerformanceObserver(function (list) {
      list.getEntries().forEach(function (task) {
        window.__longTasks.push([task.startTime, task.duration]);
      });
    }).observe({type: 'longtask', buffered: true});
  } catch (e) { /* no long-task timing in this browser */ }
  function check() {
    var gd = document.querySelector('#price-chart .js-plotly-plot');
    if (gd && gd.data && gd.data.length > 0 && gd.querySelector('.main-svg .trace')) {
      window.__firstChartMs = performance.now();
      return;
    }
    requestAnimationFrame(check);
  }
  requestAnimationFrame(check);
})();
"""


@dataclass(frozen=True)
class Variant:
    """One page to load: how gunicorn serves it, the path to open, whether to log in first."""

    name: str
    app_spec: str
    path: str
    login: bool


VARIANTS = (
    Variant("stockdash", "wsgi:app", DASH_PATH, login=True),
    Variant("default", "first_load_bench:default_dash_app(compress=True)", "/", login=False),
    Variant(
        "default-nocompress", "first_load_bench:default_dash_app(compress=False)", "/",
        login=False,
    ),
)  # fmt: skip


@dataclass
class Load:
    """What one page load transferred and how long the chart took."""

    first_chart_ms: float
    requests: int = 0
    transferred: int = 0
    # bytes received per kind of resource (script, stylesheet, document, data)
    by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    encodings: set[str] = field(default_factory=set)
    # (bytes, encoding, path) of every request, for --resources
    resources: list[tuple[int, str, str]] = field(default_factory=list)
    # milestones of the load in ms since navigation start, for --timeline (see `timeline_of`)
    timeline: dict[str, float] = field(default_factory=dict)
    # (callback outputs, start ms, end ms) of every callback request sent before the chart
    callbacks: list[tuple[str, float, float]] = field(default_factory=list)
    # (file name, start ms, end ms) of every script fetched before the chart
    scripts: list[tuple[str, float, float]] = field(default_factory=list)


# --- the default Dash page (built inside a gunicorn worker) ----------------------------------


def default_dash_app(compress: bool):
    """A minimal Dash 4 app with default settings: one candlestick `dcc.Graph` of the real
    AAPL and MSFT rows of 2016, and nothing else."""
    import dash
    import plotly.graph_objects as go
    from dash import dcc, html

    rows: dict[str, list[list[str]]] = defaultdict(list)
    with gzip.open(real_price_file(), "rt", newline="") as file:
        for row in csv.DictReader(file):
            if row["Name"] in TICKERS and FIRST_DAY <= row["date"] <= LAST_DAY:
                rows[row["Name"]].append(row)
    figure = go.Figure(
        [
            go.Candlestick(
                name=ticker,
                x=[r["date"] for r in bars],
                open=[float(r["open"]) for r in bars],
                high=[float(r["high"]) for r in bars],
                low=[float(r["low"]) for r in bars],
                close=[float(r["close"]) for r in bars],
            )
            for ticker, bars in rows.items()
        ]
    )
    app = dash.Dash(__name__, compress=compress)
    app.layout = html.Div([dcc.Graph(id="price-chart", figure=figure)])
    # Dash sets itself up on a process's first request, and marks that done before it has
    # registered the scripts it serves: in a new gthread worker whose first requests are several
    # of the page's scripts at once (the page came from the other worker), the threads arriving
    # meanwhile answer 500 ("dash" is not a registered library) and the page never draws (4
    # first loads in 10 here). Set up once now, in gunicorn's master (gunicorn.conf.py preloads
    # the app), every worker is forked set up, as a default app that has been up a while is.
    # stockdash is set up there too (its compression warm-up).
    app.server.test_client().get("/").close()
    return app.server


# --- the browser -----------------------------------------------------------------------------


def new_browser(accept_encoding: str | None):
    """A fresh headless Chromium (chromedriver gives each session a new, empty profile) that
    logs network events and never uses its HTTP cache; `accept_encoding` replaces the
    browser's own Accept-Encoding header when given."""
    driver = start_chromium(window_size="1400,1000", logs=("performance",))
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    if accept_encoding:
        driver.execute_cdp_cmd(
            "Network.setExtraHTTPHeaders", {"headers": {"Accept-Encoding": accept_encoding}}
        )
    return driver


def log_in(driver, base: str) -> None:
    """Log in through the form, as a user does before opening the dashboard."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.support.browser import fill

    driver.get(base + "/login/")
    fill(driver, {"email": BENCH_EMAIL, "password": BENCH_PASSWORD})
    driver.find_element(By.ID, "submit").click()
    WebDriverWait(driver, 30).until(lambda d: "/login/" not in d.current_url)


def wait_for_quiet(driver, timeout: float = 60) -> None:
    """Wait until the page has started no request for QUIET_SECONDS (the summary table and
    other callbacks may still be loading after the chart is drawn)."""
    script = "return performance.getEntriesByType('resource').length"
    count, since, deadline = -1, time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = driver.execute_script(script)
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= QUIET_SECONDS:
            return
        time.sleep(0.1)
    raise RuntimeError("the page kept loading")


def kind_of(url: str, mime_type: str) -> str:
    """A resource's kind for the report: script, stylesheet, document, or data (JSON)."""
    if "javascript" in mime_type:
        return "script"
    if mime_type == "text/css":
        return "stylesheet"
    if mime_type == "text/html":
        return "document"
    if "json" in mime_type:
        return "data"
    return "other"


def network_totals(driver, load: Load) -> None:
    """Add up, from the CDP performance log, the bytes of every finished request made by the
    last document loaded (its loader id), into `load`.

    Requests of an earlier page still in flight (after logging in, the browser is sent to the
    dashboard and starts loading it before the benchmark opens its own URL) are left out.
    """
    loaders, responses, finished = {}, {}, {}
    page_loader = None
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            loaders[params["requestId"]] = params.get("loaderId")
            if params.get("type") == "Document":
                page_loader = params.get("loaderId")
        elif message["method"] == "Network.responseReceived":
            responses[params["requestId"]] = params["response"]
        elif message["method"] == "Network.loadingFinished":
            finished[params["requestId"]] = params["encodedDataLength"]
    for request_id, size in finished.items():
        response = responses.get(request_id)
        if response is None or response["url"].startswith("data:"):
            continue
        # The favicon is the browser's, not the page's (stockdash's is fetched on the login page).
        if loaders.get(request_id) != page_loader or "favicon" in response["url"]:
            continue
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        load.requests += 1
        load.transferred += size
        load.by_kind[kind_of(response["url"], response.get("mimeType", ""))] += size
        encoding = headers.get("content-encoding", "identity")
        load.encodings.add(encoding)
        path = "/" + response["url"].split("/", 3)[-1]
        load.resources.append((size, encoding, path))


def load_page(variant: Variant, base: str, accept_encoding: str | None) -> Load:
    """One cold first load of `variant`'s page in a new browser."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver = new_browser(accept_encoding)
    try:
        if variant.login:
            log_in(driver, base)
        driver.get_log("performance")  # drop what the login pages loaded
        driver.execute_cdp_cmd("Page.enable", {})
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": WATCH_FIRST_CHART}
        )
        driver.get(base + variant.path)
        first_chart = WebDriverWait(driver, 60).until(
            lambda d: d.execute_script("return window.__firstChartMs")
        )
        load = Load(first_chart_ms=float(first_chart))
        timeline_of(driver, load)
        wait_for_quiet(driver)
        network_totals(driver, load)
        return load
    finally:
        driver.quit()


READ_TIMELINE = """
var nav = performance.getEntriesByType('navigation')[0];
var scripts = performance.getEntriesByType('resource')
  .filter(function (r) { return r.initiatorType === 'script'; })
  .map(function (r) { return [r.name, r.startTime, r.responseEnd]; });
return {document: nav.responseEnd, domContentLoaded: nav.domContentLoadedEventEnd,
        scripts: scripts, fetches: window.__fetches, longTasks: window.__longTasks,
        chart: window.__firstChartMs};
"""


def timeline_of(driver, load: Load) -> None:
    """Milestones of the load up to the first chart, read in the page (see WATCH_FIRST_CHART):

    * ``document``: the HTML page received;
    * ``scripts``: the last script the page's <script> tags load received (the ones that start
      before Dash asks for its layout; chunks Dash loads later are counted with the callbacks);
    * ``renderer``: Dash's renderer asks for `_dash-layout`: the scripts have been parsed and run;
    * ``layout``: `_dash-layout` and `_dash-dependencies` both answered;
    * ``callbacks``: the last callback request answered before the chart was drawn (the one
      bringing the figure, or one that came back in between);
    * ``chart``: the first frame with the chart drawn; ``busy``: main-thread long tasks (> 50 ms)
      until then, summed.
    """
    raw = driver.execute_script(READ_TIMELINE)
    chart = raw["chart"]
    fetches = [f for f in raw["fetches"] if f["start"] <= chart]

    def ends(part: str) -> list[float]:
        return [f["end"] or chart for f in fetches if part in f["url"]]

    renderer = min((f["start"] for f in fetches if "_dash-layout" in f["url"]), default=chart)
    scripts = [end for _, start, end in raw["scripts"] if start <= renderer]
    calls = [f for f in fetches if "_dash-update-component" in f["url"]]
    load.timeline = {
        "document": raw["document"],
        "scripts": max(scripts, default=raw["document"]),
        "renderer": renderer,
        "layout": max(ends("_dash-layout") + ends("_dash-dependencies"), default=renderer),
        "callbacks": max((f["end"] for f in calls if f["end"] and f["end"] <= chart),
                         default=renderer),
        "chart": chart,
        "busy": sum(min(duration, chart - start) for start, duration in raw["longTasks"]
                    if start <= chart),
    }
    load.callbacks = [(callback_name(f["output"]), f["start"], f["end"] or chart) for f in calls]
    load.scripts = [(name.split("?")[0].rsplit("/", 1)[-1], start, end)
                    for name, start, end in raw["scripts"] if start <= chart]


def callback_name(output) -> str:
    """A callback request's outputs, shortened: `..a.b...c.d..` becomes `a.b c.d`."""
    text = str(output or "?")
    return " ".join(part for part in text.replace("...", " ").strip(".").split() if part)[:60]


def timeline_report(loads: dict[str, list[Load]]) -> str:
    """Median milestones per page, and each stockdash run's callback requests."""
    names = ("document", "scripts", "renderer", "layout", "callbacks", "chart", "busy")
    rows = [
        [name, *(f"{statistics.median(r.timeline[m] for r in runs):,.0f}" for m in names)]
        for name, runs in loads.items()
    ]
    lines = ["", "Timeline (ms since navigation start, medians):", ""]
    lines += markdown_table(["page", *names], "l" + "r" * len(names), rows)
    for number, run in enumerate(loads["stockdash"], 1):
        lines += ["", f"stockdash run {number}, callback requests before the chart:"]
        lines += [f"  {start:7,.0f} -> {end:7,.0f}  {name}" for name, start, end in run.callbacks]
    lines += ["", "stockdash run 1, scripts fetched before the chart:"]
    lines += [f"  {start:7,.0f} -> {end:7,.0f}  {name}"
              for name, start, end in loads["stockdash"][0].scripts]
    return "\n".join(lines)


# --- the run ---------------------------------------------------------------------------------


def serve_and_load(variant: Variant, env: dict, workdir: Path, accept_encoding: str | None) -> Load:
    """Serve `variant` with gunicorn (2 workers), load its page once cold, stop the server."""
    from selenium.common.exceptions import TimeoutException

    log = workdir / f"gunicorn-{variant.name}.log"
    options = ("--workers", "2")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        # any_status: the dashboard answers an anonymous `/` with a redirect to log in.
        with gunicorn_serving(
            variant.app_spec, PORT_RANGE, env, log, options=options, any_status=True
        ) as base:
            try:
                return load_page(variant, base, accept_encoding)
            except TimeoutException:
                # A load that still draws nothing within the minute is started again, and
                # said so (on the loaded machine, either page has been that slow).
                print(f"  {variant.name}: no chart within 60 s (attempt {attempt})",
                      file=sys.stderr, flush=True)
    raise RuntimeError(f"{variant.name}: no chart in {MAX_ATTEMPTS} attempts")


def resource_list(loads: dict[str, list[Load]]) -> str:
    """Every request of each page's first load, largest first."""
    lines = []
    for name, runs in loads.items():
        rows = [
            [f"{size:,}", encoding, path[:90]]
            for size, encoding, path in sorted(runs[0].resources, reverse=True)
        ]
        lines += ["", f"{name}, first run:"]
        lines += markdown_table(["bytes", "encoding", "path"], "rll", rows)
    return "\n".join(lines)


def report(loads: dict[str, list[Load]]) -> str:
    """Per-variant medians, and the stockdash/default ratios against the target."""
    kinds = ("document", "script", "stylesheet", "data", "other")
    header = ["page", "requests", "total kB", *(f"{k} kB" for k in kinds)]
    header += ["first chart ms", "encodings"]
    rows = []
    medians = {}
    for name, runs in loads.items():
        total = statistics.median(r.transferred for r in runs)
        chart = statistics.median(r.first_chart_ms for r in runs)
        script = statistics.median(r.by_kind["script"] for r in runs)
        medians[name] = (total, chart, script)
        per_kind = [f"{statistics.median(r.by_kind[k] for r in runs) / 1000:.1f}" for k in kinds]
        encodings = ", ".join(sorted(set().union(*(r.encodings for r in runs))))
        requests = statistics.median(r.requests for r in runs)
        rows.append(
            [name, f"{requests:.0f}", f"{total / 1000:.1f}", *per_kind, f"{chart:.0f}", encodings]
        )
    lines = [
        f"Median of {len(loads['stockdash'])} cold loads per variant (kB = 1000 bytes received, "
        "headers included).",
        "",
        *markdown_table(header, "lrr" + "r" * len(kinds) + "rl", rows),
    ]
    lines += ["", "Per-run first chart ms: " + "; ".join(
        f"{name} " + ", ".join(f"{r.first_chart_ms:.0f}" for r in runs)
        for name, runs in loads.items()
    )]  # fmt: skip
    ours = medians["stockdash"]
    for other in ("default", "default-nocompress"):
        theirs = medians[other]
        ratio = ours[0] / theirs[0]
        lines += [
            f"stockdash / {other}: bytes {ratio:.3f}x (target <= {TARGET_BYTES_RATIO}x: "
            f"{verdict(ratio <= TARGET_BYTES_RATIO)}), "
            f"script bytes {ours[2] / theirs[2]:.3f}x, first chart {ours[1] / theirs[1]:.2f}x",
        ]
    return "\n".join(lines)


def main() -> None:
    """Prepare the database, load every page --runs times round-robin, print the report."""
    parser = option_parser(__doc__, runs=5, what="cold loads per page")
    parser.add_argument(
        "--accept-encoding",
        help="send this Accept-Encoding instead of Chromium's own (e.g. gzip, to measure gzip "
        "where Chromium would negotiate zstd)",
    )
    parser.add_argument(
        "--resources", action="store_true", help="also list every request of the first run"
    )
    parser.add_argument(
        "--timeline", action="store_true",
        help="also show where the time to the first chart goes (milestones, callback requests)",
    )
    options = parse_options(parser, runs=1)

    with database_with_prices("stockdash_bench_firstload", TICKERS) as database_url:
        env = server_environment(database_url, dict(os.environ))
        with tempfile.TemporaryDirectory(prefix="stockdash-bench-") as workdir:
            loads = rounds(
                options.runs,
                {
                    variant.name: partial(
                        serve_and_load, variant, env, Path(workdir), options.accept_encoding
                    )
                    for variant in VARIANTS
                },
            )
    print(f"Accept-Encoding: {options.accept_encoding or 'Chromium default'}")
    print(report(loads))
    if options.resources:
        print(resource_list(loads))
    if options.timeline:
        print(timeline_report(loads))


if __name__ == "__main__":
    main()
