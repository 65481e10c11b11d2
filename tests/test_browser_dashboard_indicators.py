"""Indicators and the benchmark comparison in headless Chromium, on real prices: a deep link
draws the RSI and MACD panels, the Bollinger bands and the comparison, the controls show them
and write them back to the URL; screenshots in light, dark and phone widths (saved under
$TMPDIR/shots/s13-fig/, or STOCKDASH_SHOTS)."""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.apps import load_prices
from tests.support.browser import console_problems
from tests.support.users import create_user
from tests.test_browser_dashboard import log_in_from, wait_for_traces, wait_until_idle

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("STOCKDASH_SHOTS") or Path(tempfile.gettempdir(), "shots", "s13-fig"))
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
VIEW = ("/dash/?tickers=AAPL,GOOGL&start=2016-01-01&end=2016-12-31&chart=candlestick"
        "&indicators=rsi,macd,bollinger&compare=MSFT")
AXES_JS = """
const gd = document.querySelector('#price-chart .js-plotly-plot');
return gd && gd._fullLayout ? [gd._fullLayout.yaxis.title.text, gd._fullLayout.yaxis3.title.text,
                              gd._fullLayout.yaxis4.title.text] : null;
"""


@pytest.fixture
def dashboard(live_app, live_server, sp500_subset):
    """Real AAPL/MSFT/GOOGL prices and a registered user."""
    load_prices(live_app, sp500_subset)
    create_user(live_app)
    return live_server


def names(traces) -> set[str]:
    return {trace["name"] for trace in traces}


def complete(traces) -> bool:
    return {"AAPL RSI", "GOOGL MACD", "AAPL BB upper"} <= names(traces)


def test_deep_link_draws_the_indicators_and_the_comparison(dashboard, browser):
    log_in_from(browser, dashboard, VIEW)
    traces = wait_for_traces(browser, complete)
    assert "MSFT" not in names(traces)  # the benchmark is not drawn
    assert {t["n"] for t in traces if t["name"] in ("AAPL RSI", "AAPL")} == {252}
    assert browser.execute_script(AXES_JS) == ["% vs MSFT", "RSI 14", "MACD"]
    wait_until_idle(browser)
    # The controls show the view: the compare dropdown has its options and the benchmark.
    compare = browser.find_element(By.ID, "compare")
    WebDriverWait(browser, 20).until(lambda _: "MSFT" in compare.text)
    boxes = browser.find_elements(By.CSS_SELECTOR, "#indicators input")
    assert [box.is_selected() for box in boxes] == [True, True, True]
    # Unticking RSI writes the URL and drops its panel.
    browser.find_element(By.XPATH, "//label[normalize-space()='RSI 14']").click()
    WebDriverWait(browser, 20).until(lambda b: "indicators=macd,bollinger" in b.current_url)
    wait_for_traces(browser, lambda t: "AAPL RSI" not in names(t) and "AAPL MACD" in names(t))
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)


def test_hover_shows_the_full_date(dashboard, browser):
    log_in_from(browser, dashboard, VIEW)
    wait_for_traces(browser, complete)
    wait_until_idle(browser)
    plot = browser.find_element(By.CSS_SELECTOR, "#price-chart .nsewdrag")
    ActionChains(browser).move_to_element_with_offset(plot, 0, 0).perform()
    header = WebDriverWait(browser, 10).until(lambda b: b.execute_script(
        "const t = document.querySelector('#price-chart .hoverlayer .legend text');"
        "return t && t.textContent;"))
    assert re.fullmatch(r"2016-\d\d-\d\d", header), header  # the day, not "Aug 2016"
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "indicators-hover-light.png"))


def test_screenshots_of_the_indicators(dashboard, browser):
    """Light, dark and phone views of the chart with every indicator and a benchmark, and of
    one ticker's candlesticks (histogram and bands), for a person to look at."""
    log_in_from(browser, dashboard, VIEW)
    SHOTS.mkdir(parents=True, exist_ok=True)
    single = "/dash/?tickers=AAPL&start=2017-06-01&end=2018-02-07&chart=candlestick" \
             "&indicators=rsi,macd,bollinger"
    several = "/dash/?tickers=AAPL,MSFT,GOOGL&start=2017-10-01&end=2018-02-07" \
              "&chart=candlestick&indicators=bollinger"
    for theme in ("light", "dark", "phone"):
        if theme == "phone":
            browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
        else:
            browser.execute_script(f"localStorage.setItem('stockdash-theme', '{theme}')")
        for name, view, ready in (("compare", VIEW, complete),
                                  ("single", single, lambda t: "AAPL histogram" in names(t)),
                                  ("candles", several, lambda t: "GOOGL BB lower" in names(t))):
            browser.get(dashboard + view)
            wait_for_traces(browser, ready)
            wait_until_idle(browser)
            browser.execute_script("document.getElementById('price-chart').scrollIntoView()")
            time.sleep(0.5)  # the last paint
            browser.save_screenshot(str(SHOTS / f"indicators-{name}-{theme}.png"))
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
