"""One range in headless Chromium: a zoom, a quick range and the date picker each set the dates,
and the chart, the date picker, the URL, the summary and the CSV all show them; a selection
without prices says so, without axes, and offers no CSV."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.apps import load_prices
from tests.support.browser import console_problems
from tests.support.users import create_user
from tests.test_browser_dashboard import (
    downloaded_rows,
    log_in_from,
    ms,
    wait_for_traces,
    wait_until_idle,
)
from tests.test_dashboard_callbacks import real_rows

pytestmark = pytest.mark.browser

YEAR = "/dash/?tickers=AAPL,MSFT&start=2016-01-01&end=2016-12-31&chart=line"
RELAYOUT = "Plotly.relayout(document.querySelector('#price-chart .js-plotly-plot'), %s);"
# The date picker's two inputs (the start one has the component's id), the page's only ones.
DATE_INPUTS = ("return [...document.querySelectorAll('input.dash-datepicker-input')]"
               ".map(i => i.value);")
SUMMARY_ROWS = """
return [...document.querySelectorAll('#summary tbody tr')]
  .map(row => [...row.querySelectorAll('td')].map(cell => cell.textContent));
"""


@pytest.fixture
def prices(live_app, live_server, browser, sp500_subset):
    """Real AAPL/MSFT/GOOGL prices and a registered user; the base URL."""
    load_prices(live_app, sp500_subset)
    create_user(live_app)
    return live_server


def close_on(path: Path, ticker: str, day: date) -> str:
    """The real close of `ticker` on `day`, as the summary table writes it."""
    (row,) = real_rows(path, ticker, day, day)
    return f"{float(row['close']):,.2f}"


def assert_one_range(browser, path: Path, first: date, last: date, downloads: Path) -> None:
    """The chart, the date picker, the URL, the summary and the CSV all show first..last (the
    first and last trading days of the range)."""
    traces = wait_for_traces(browser, lambda t: t[0]["first"] == ms(str(first))
                             and t[0]["last"] == ms(str(last)))
    assert {"AAPL", "MSFT"} <= {t["name"] for t in traces}
    wait_until_idle(browser)
    start_text, end_text = browser.execute_script(DATE_INPUTS)
    query = browser.current_url.split("?", 1)[1]
    params = dict(part.split("=", 1) for part in query.split("&"))
    assert (params["start"], params["end"]) == (start_text, end_text)
    assert date.fromisoformat(start_text) <= first and date.fromisoformat(end_text) >= last
    # The summary is for that range: its last close is the one of the range's last day.
    WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda b: [row[:2] for row in b.execute_script(SUMMARY_ROWS)]
        == [["AAPL", close_on(path, "AAPL", last)], ["MSFT", close_on(path, "MSFT", last)]]
    )
    # And so is the CSV.
    downloads.mkdir()
    rows = downloaded_rows(browser, "download-button", downloads, "stockdash-AAPL-MSFT.csv")
    days = sorted({row["time"] for row in rows})
    assert (days[0], days[-1]) == (f"{first} 00:00:00", f"{last} 00:00:00")


def type_date(browser, index: int, text: str) -> None:
    """Type a date into the date picker's start (0) or end (1) input, as a user does."""
    field = browser.find_elements(By.CSS_SELECTOR, "input.dash-datepicker-input")[index]
    field.click()
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text, Keys.ENTER)
    # Leave the field (the picker closes): a click on the summary's heading, the first h2 shown
    # (the controls panel's own heading is hidden beside the chart).
    browser.find_element(By.XPATH, "//h2[normalize-space()='Summary']").click()


def test_zoom_quick_range_and_date_picker_agree_everywhere(prices, browser, sp500_subset,
                                                           tmp_path):
    log_in_from(browser, prices, YEAR)
    assert_one_range(browser, sp500_subset, date(2016, 1, 4), date(2016, 12, 30),
                     tmp_path / "year")

    # A zoom (as a drag does it) sets the days it covers, everywhere; its history entry is new.
    history = browser.execute_script("return history.length")
    browser.execute_script(RELAYOUT % "{'xaxis.range': ['2016-03-01 12:00', '2016-03-31 06:00']}")
    WebDriverWait(browser, 20).until(lambda b: "start=2016-03-01&end=2016-03-31" in b.current_url)
    assert browser.execute_script("return history.length") == history + 1
    assert_one_range(browser, sp500_subset, date(2016, 3, 1), date(2016, 3, 31),
                     tmp_path / "zoomed")
    # The redraw's own relayout events changed nothing: still one entry more.
    assert browser.execute_script("return history.length") == history + 1

    # Back undoes the zoom; Forward brings it back; a reset of the zoom (a double click's
    # autorange) goes back to the range from before it.
    browser.back()
    WebDriverWait(browser, 20).until(lambda b: "start=2016-01-01&end=2016-12-31" in b.current_url)
    wait_for_traces(browser, lambda t: t[0]["first"] == ms("2016-01-04"))
    WebDriverWait(browser, 20).until(
        lambda b: b.execute_script(DATE_INPUTS) == ["2016-01-01", "2016-12-31"]
    )
    browser.forward()
    wait_for_traces(browser, lambda t: t[0]["first"] == ms("2016-03-01"))
    wait_until_idle(browser)
    browser.execute_script(RELAYOUT % "{'xaxis.range': ['2016-03-07', '2016-03-11 12:00']}")
    wait_for_traces(browser, lambda t: t[0]["first"] == ms("2016-03-07"))
    wait_until_idle(browser)
    browser.execute_script(RELAYOUT % "{'xaxis.autorange': true, 'xaxis2.autorange': true}")
    WebDriverWait(browser, 20).until(lambda b: "start=2016-01-01&end=2016-12-31" in b.current_url)
    assert_one_range(browser, sp500_subset, date(2016, 1, 4), date(2016, 12, 30),
                     tmp_path / "reset")

    # A quick range: everything follows it (AAPL's and MSFT's last prices are of 2018-02-07).
    browser.find_element(By.XPATH, "//button[normalize-space()='1Y']").click()
    WebDriverWait(browser, 20).until(lambda b: "start=2017-02-07&end=2018-02-07" in b.current_url)
    assert_one_range(browser, sp500_subset, date(2017, 2, 7), date(2018, 2, 7),
                     tmp_path / "quick")

    # The date picker: everything follows it too.
    type_date(browser, 0, "2017-06-01")
    WebDriverWait(browser, 20).until(lambda b: "start=2017-06-01&end=2018-02-07" in b.current_url)
    assert_one_range(browser, sp500_subset, date(2017, 6, 1), date(2018, 2, 7),
                     tmp_path / "picked")
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)


EMPTY_STATE = """
const chart = document.getElementById('price-chart');
if (!chart) return {text: '', ticks: -1, csvOff: null};  // not drawn yet
return {text: chart.textContent, ticks: chart.querySelectorAll('.xtick, .ytick').length,
        csvOff: document.getElementById('download-button').disabled};
"""


def test_a_selection_without_prices_says_so_and_offers_no_csv(prices, browser):
    log_in_from(browser, prices, "/dash/?tickers=AAPL&start=2010-01-01&end=2010-12-31")
    WebDriverWait(browser, 20).until(
        lambda b: "No prices for this selection" in b.execute_script(EMPTY_STATE)["text"]
    )
    wait_until_idle(browser)
    state = browser.execute_script(EMPTY_STATE)
    assert "Choose other tickers or a wider date range" in state["text"]
    # No axes: no tick labels (an empty date axis showed a meaningless -1 to 4).
    assert state["ticks"] == 0
    assert state["csvOff"] is True
    # Back to a range with prices: the chart and the CSV button come back.
    browser.find_element(By.XPATH, "//button[normalize-space()='All']").click()
    wait_for_traces(browser, lambda t: t[0]["name"] == "AAPL")
    WebDriverWait(browser, 20).until(lambda b: b.execute_script(EMPTY_STATE)["csvOff"] is False)
    assert browser.execute_script(EMPTY_STATE)["ticks"] > 0
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)
