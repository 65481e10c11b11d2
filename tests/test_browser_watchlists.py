"""Watchlists in headless Chromium: watching from the directory (a plain form), the dashboard
opening on the watchlist and its star; screenshots of /tickers/, a ticker's page and the home
page in light, dark and phone widths (saved under $TMPDIR/shots/s10-watchlists/)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import text

from app.extensions import db
from tests.support.apps import load_prices
from tests.support.browser import console_problems, fill
from tests.support.users import DEFAULT_EMAIL, DEFAULT_PASSWORD, create_user
from tests.test_browser_dashboard import wait_for_traces, wait_until_idle

pytestmark = pytest.mark.browser

SHOTS = Path(
    os.environ.get("STOCKDASH_SHOTS") or Path(tempfile.gettempdir(), "shots", "s10-watchlists")
)
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
NAMES = ("Symbol,Security,GICS Sector\nAAPL,Apple Inc.,Information Technology\n"
         "MSFT,Microsoft,Information Technology\n")  # fmt: skip


@pytest.fixture
def site(live_app, live_server, browser, sp500_subset, tmp_path):
    """Real AAPL/MSFT/GOOGL prices, two names, a user logged in in `browser`."""
    load_prices(live_app, sp500_subset)
    names = tmp_path / "names.csv"
    names.write_text(NAMES)
    assert live_app.test_cli_runner().invoke(args=["prices", "tickers", str(names)]).exit_code == 0
    create_user(live_app)
    browser.get(live_server + "/login/")
    fill(browser, {"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD})
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 20).until(lambda b: "/dash/" in b.current_url)
    return live_server


def watchlist(app):
    with app.app_context():
        rows = db.session.execute(text("SELECT ticker FROM watchlist ORDER BY ticker")).scalars()
        return list(rows)


def click_and_wait(browser, element) -> None:
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 20).until(EC.staleness_of(page))


def star_says(browser, label: str) -> None:
    WebDriverWait(browser, 20).until(
        lambda b: b.find_element(By.ID, "watch-star").text == label
    )


def test_watch_from_the_directory_then_the_dashboard_opens_on_it_and_the_star(
    live_app, site, browser
):
    browser.get(site + "/tickers/")
    row = browser.find_element(By.ID, "ticker-MSFT")
    click_and_wait(browser, row.find_element(By.CSS_SELECTOR, "button.watch-toggle"))
    assert browser.current_url == site + "/tickers/"
    assert "Watching" in browser.find_element(By.ID, "ticker-MSFT").text
    assert watchlist(live_app) == ["MSFT"]

    browser.get(site + "/dash/")
    traces = wait_for_traces(browser, lambda ts: bool(ts))
    assert {t["name"] for t in traces if t["type"] != "bar"} == {"MSFT"}
    star_says(browser, "★ Watching")
    assert browser.find_element(By.ID, "freshness").text.startswith("Prices up to 2018-")

    browser.get(site + "/dash/?tickers=AAPL,GOOGL")
    wait_for_traces(browser, lambda ts: {"AAPL", "GOOGL"} <= {t["name"] for t in ts})
    star_says(browser, "☆ Watch")
    wait_until_idle(browser)
    browser.find_element(By.ID, "watch-star").click()
    star_says(browser, "★ Watching")
    assert watchlist(live_app) == ["AAPL", "GOOGL", "MSFT"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "dashboard-star-light.png"))
    browser.find_element(By.ID, "watch-star").click()
    star_says(browser, "☆ Watch")
    assert watchlist(live_app) == ["MSFT"]

    browser.get(site + "/")
    rows = browser.find_elements(By.CSS_SELECTOR, "#watchlist-table tbody tr")
    assert [r.get_attribute("id") for r in rows] == ["watch-MSFT"]
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)


def shoot(browser, base: str, pages: dict[str, str]) -> None:
    """A screenshot of each page in light, dark and phone width."""
    for theme in ("light", "dark"):
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        browser.execute_script(f"localStorage.setItem('stockdash-theme', '{theme}')")
        for name, path in pages.items():
            browser.get(base + path)
            browser.save_screenshot(str(SHOTS / f"{name}-{theme}.png"))
    browser.execute_script("localStorage.setItem('stockdash-theme', 'light')")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    for name, path in pages.items():
        browser.get(base + path)
        browser.save_screenshot(str(SHOTS / f"{name}-phone.png"))
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_screenshots_of_the_watchlist_pages(live_app, site, browser):
    """Light, dark and phone views of the new pages, for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.get(site + "/tickers/AAPL/")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "button.watch-toggle"))
    browser.get(site + "/tickers/GOOGL/")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "button.watch-toggle"))
    shoot(browser, site, {"tickers": "/tickers/", "tickers-search": "/tickers/?q=micro&sort=change",
                          "ticker-aapl": "/tickers/AAPL/", "home": "/"})  # fmt: skip
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)
