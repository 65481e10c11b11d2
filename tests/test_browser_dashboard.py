"""The analyst's dashboard end to end in headless Chromium, on real prices."""

from __future__ import annotations

import csv
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import request
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.apps import load_prices
from tests.support.browser import console_problems, fill
from tests.support.data import write_minute_bars
from tests.support.users import DEFAULT_EMAIL, DEFAULT_PASSWORD, create_user

pytestmark = pytest.mark.browser

SPEC_VIEW = "/dash/?tickers=AAPL,MSFT&start=2016-01-01&end=2016-12-31&chart=candlestick"
TRACES_JS = """
const gd = document.querySelector('#price-chart .js-plotly-plot');
if (!gd || !gd._fullData) return null;
// _fullData holds the arrays decoded from the figure's compact binary form.
return gd._fullData.map(t => ({type: t.type, name: t.name, n: t.x.length,
                          first: t.x[0], last: t.x[t.x.length - 1]}));
"""


def ms(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000


def wait_for_traces(browser, condition, timeout=30):
    """Poll the chart's traces until `condition(traces)` holds; return them."""
    deadline = time.monotonic() + timeout
    traces = None
    while time.monotonic() < deadline:
        traces = browser.execute_script(TRACES_JS)
        if traces and condition(traces):
            return traces
        time.sleep(0.2)
    raise AssertionError(f"the chart never showed what was expected; last traces: {traces}")


def downloaded_rows(browser, button: str, directory: Path, name: str) -> list[dict]:
    """Click the CSV button `button` and read the file `name` that the browser saves into
    `directory`, as rows."""
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(directory)}
    )
    browser.find_element(By.ID, button).click()
    target = directory / name
    WebDriverWait(browser, 20).until(lambda _: target.exists() and target.stat().st_size > 0)
    with target.open() as file:
        return list(csv.DictReader(file))


def wait_until_idle(browser, timeout=20):
    """Wait until Dash has no callback in flight (nothing marked as loading) for a moment, so
    that a simulated user action is not mixed up with the page's own start-up updates."""
    deadline, quiet = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and quiet < 4:
        busy = browser.execute_script(
            "return document.querySelector('[data-dash-is-loading=\"true\"]') !== null")
        quiet = 0 if busy else quiet + 1
        time.sleep(0.25)
    assert quiet >= 4, "Dash never became idle"


def of_type(traces, kind):
    return [t for t in traces if t["type"] == kind]


@pytest.fixture
def dashboard(live_app, live_server, browser, sp500_subset, tmp_path):
    """Real AAPL/MSFT/GOOGL prices and two weeks of minute bars, and a registered user."""
    load_prices(live_app, sp500_subset)
    minutes = tmp_path / "minutes.csv"
    write_minute_bars(minutes, days=10)
    load_prices(live_app, minutes)
    create_user(live_app)
    return live_server


def log_in_from(browser, base: str, deep_link: str) -> None:
    """Open a deep link while logged out, and log in through the form it leads to."""
    browser.get(base + deep_link)
    WebDriverWait(browser, 20).until(lambda b: "/login/?next=" in b.current_url)
    fill(browser, {"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD})
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 20).until(lambda b: b.current_url == base + deep_link)


def test_deep_link_controls_history_download_and_zoom(dashboard, browser, tmp_path):
    base = dashboard
    log_in_from(browser, base, SPEC_VIEW)

    # The SPEC's view: two candlestick traces, exactly 2016.
    traces = wait_for_traces(browser, lambda t: len(of_type(t, "candlestick")) == 2)
    candles = of_type(traces, "candlestick")
    assert [t["name"] for t in candles] == ["AAPL", "MSFT"]
    for trace in candles:
        assert trace["n"] == 252
        assert trace["first"] == ms("2016-01-04")
        assert trace["last"] == ms("2016-12-30")
    # The summary table arrives from its own callback.
    WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda b: [
        row.find_element(By.TAG_NAME, "td").text
        for row in b.find_elements(By.CSS_SELECTOR, "#summary tbody tr")
        ] == ["AAPL", "MSFT"]
    )

    # A control changes the URL, and back/forward restore the views.
    browser.find_element(By.XPATH, "//label[normalize-space()='OHLC']").click()
    WebDriverWait(browser, 20).until(lambda b: "chart=ohlc" in b.current_url)
    wait_for_traces(browser, lambda t: len(of_type(t, "ohlc")) == 2)
    browser.back()
    WebDriverWait(browser, 20).until(lambda b: b.current_url == base + SPEC_VIEW)
    wait_for_traces(browser, lambda t: len(of_type(t, "candlestick")) == 2)
    browser.forward()
    wait_for_traces(browser, lambda t: len(of_type(t, "ohlc")) == 2)

    # Download CSV: exactly the bars shown.
    downloaded = downloaded_rows(browser, "download-button", tmp_path, "stockdash-AAPL-MSFT.csv")
    assert len(downloaded) == 2 * 252
    assert {row["ticker"] for row in downloaded} == {"AAPL", "MSFT"}
    assert min(row["time"] for row in downloaded) == "2016-01-04 00:00:00"

    # Zoom: ten days of minute bars are aggregated; one day zoomed in comes back minute by minute.
    browser.get(base + "/dash/?tickers=MINUTE&chart=line&volume=0")
    overview = wait_for_traces(browser, lambda t: t[0]["name"] == "MINUTE")[0]
    overview_step = (overview["last"] - overview["first"]) / (overview["n"] - 1)
    assert overview_step > 60_000  # coarser than a minute
    wait_until_idle(browser)
    browser.execute_script(
        "const gd = document.querySelector('#price-chart .js-plotly-plot');"
        "Plotly.relayout(gd, {'xaxis.range': ['2021-01-05 09:30:00', '2021-01-05 16:00:00']});"
    )
    detail = wait_for_traces(browser, lambda t: t[0]["first"] != overview["first"])[0]
    assert detail["n"] == 390  # every minute of that trading day
    assert detail["first"] == ms("2021-01-05 09:30:00")
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)


def test_unknown_ticker_and_bad_date_show_notices(dashboard, browser):
    log_in_from(browser, dashboard, "/dash/?tickers=AAPL,NOPE&start=2016-02-30")
    WebDriverWait(browser, 20).until(
        lambda b: "Unknown ticker(s) ignored: NOPE" in b.find_element(By.ID, "notices").text
    )
    assert "YYYY-MM-DD" in browser.find_element(By.ID, "notices").text
    traces = wait_for_traces(browser, lambda t: len(t) > 0)
    assert traces[0]["name"] == "AAPL"


def test_dark_mode_is_remembered(dashboard, browser):
    log_in_from(browser, dashboard, "/dash/?tickers=AAPL")
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "theme-switch"))
    browser.find_element(By.ID, "theme-switch").click()
    WebDriverWait(browser, 10).until(
        lambda b: b.execute_script("return document.documentElement.dataset.bsTheme") == "dark"
    )
    browser.get(dashboard + "/")
    assert browser.execute_script("return document.documentElement.dataset.bsTheme") == "dark"
    browser.get(dashboard + "/dash/?tickers=AAPL")
    WebDriverWait(browser, 10).until(
        lambda b: b.execute_script("return document.documentElement.dataset.bsTheme") == "dark"
    )
    WebDriverWait(browser, 20).until(  # the switch itself remembers its position too
        lambda b: b.find_elements(By.ID, "theme-switch") and b.find_element(
            By.ID, "theme-switch").is_selected()
    )


def test_dates_beyond_the_range_and_every_callback_the_page_sends(dashboard, live_app, browser):
    """A link with dates past what datetime holds draws a chart with a notice, and the real
    renderer's payload for every callback a user can fire passes the payload check."""
    statuses = []

    @live_app.after_request
    def record_callback_status(response):
        if request.path == "/dash/_dash-update-component":
            statuses.append(response.status_code)
        return response

    log_in_from(browser, dashboard, "/dash/?tickers=AAPL&start=0001-01-01&end=9999-12-31&ma=200")
    WebDriverWait(browser, 20).until(
        lambda b: "is outside the dates shown" in b.find_element(By.ID, "notices").text
    )
    names = ["AAPL", "AAPL MA200"]
    traces = wait_for_traces(browser, lambda t: [trace["name"] for trace in t[:2]] == names)
    assert traces[0]["first"] == ms("2013-02-08")  # the whole of AAPL: both bounds clamped
    wait_until_idle(browser)
    browser.find_element(By.XPATH, "//button[normalize-space()='1Y']").click()
    WebDriverWait(browser, 20).until(lambda b: "start=2017-02-07" in b.current_url)
    wait_until_idle(browser)
    heading = browser.find_element(By.XPATH, "//button[starts-with(normalize-space(), 'Return %')]")
    # Below the fold at 1280x900, where chromedriver's click does not scroll to it: scrolled
    # to and clicked as a user's pointer would.
    ActionChains(browser).scroll_to_element(heading).move_to_element(heading).click().perform()
    # The summary table is drawn again when its data arrives: a heading found may go stale.
    WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda b: "▲" in b.find_element(By.XPATH, "//button[starts-with(., 'Return %')]").text
    )
    # Back up to the navbar's switch (chromedriver does not scroll to an element above the
    # window), as a user would.
    browser.execute_script("window.scrollTo(0, 0);")
    browser.find_element(By.ID, "theme-switch").click()
    browser.find_element(By.ID, "download-button").click()
    browser.execute_script(
        "const gd = document.querySelector('#price-chart .js-plotly-plot');"
        "Plotly.relayout(gd, {'xaxis.range': ['2017-06-01', '2017-07-01']});"
    )
    wait_until_idle(browser)
    time.sleep(1)  # the last answers
    assert len(statuses) >= 8 and set(statuses) <= {200, 204}, statuses
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)
