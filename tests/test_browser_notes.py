"""Notes in headless Chromium: writing one through the home page's form (the counter counts),
hostile text shown literally in the feed, "Open chart" opening the dashboard there; screenshots
of home, /explore/, a profile and a ticker page with notes in light, dark and phone widths
(saved under $TMPDIR/shots/s11-notes/)."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from app.extensions import db
from app.models import Follow, Note, WatchlistEntry
from tests.support.apps import load_prices
from tests.support.browser import console_problems, fill
from tests.support.users import DEFAULT_EMAIL, DEFAULT_PASSWORD, create_user
from tests.test_browser_dashboard import wait_for_traces

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("STOCKDASH_SHOTS") or Path(tempfile.gettempdir(), "shots", "s11-notes"))
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
HOSTILE = (
    '<img src=x onerror=alert(1)> <script>alert(2)</script> <a href="javascript:alert(3)">x</a>'
)


@pytest.fixture
def site(live_app, live_server, browser, sp500_subset):
    """Real AAPL/MSFT/GOOGL prices, a user logged in in `browser`."""
    load_prices(live_app, sp500_subset)
    live_app.config["ADA"] = create_user(live_app)
    browser.get(live_server + "/login/")
    fill(browser, {"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD})
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 20).until(lambda b: "/dash/" in b.current_url)
    return live_server


def click_and_wait(browser, element) -> None:
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 20).until(EC.staleness_of(page))


def test_write_a_note_see_it_as_text_and_open_its_chart(live_app, site, browser):
    browser.get(site + "/")
    fill(browser, {"ticker": "aapl", "body": HOSTILE})
    assert browser.find_element(By.ID, "body-count").text == str(len(HOSTILE))
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, ".note-form [type=submit]"))
    assert browser.current_url == site + "/"
    assert "Your note on AAPL has been posted." in browser.page_source
    note = browser.find_element(By.CSS_SELECTOR, "#feed .note")
    body = note.find_element(By.CSS_SELECTOR, ".note-body")
    assert body.text == HOSTILE
    assert body.find_elements(By.CSS_SELECTOR, "*") == []  # no <img>, <script> or <a> made
    assert browser.find_elements(By.CSS_SELECTOR, "main img:not(.avatar)") == []
    # An alert() that ran would make the next WebDriver command fail (an unexpected alert).
    assert "AAPL" in note.find_element(By.CSS_SELECTOR, ".note-ticker").text

    click_and_wait(browser, note.find_element(By.CSS_SELECTOR, ".note-chart"))
    assert "/dash/?tickers=AAPL&start=" in browser.current_url
    traces = wait_for_traces(browser, lambda ts: any(t["name"] == "AAPL" for t in ts))
    assert {t["name"] for t in traces if t["type"] != "bar"} >= {"AAPL"}
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)


def test_the_counter_counts_as_the_server_does(live_app, site, browser):
    browser.get(site + "/")
    area = browser.find_element(By.NAME, "body")
    area.send_keys("ab")
    assert browser.find_element(By.ID, "body-count").text == "2"
    area.send_keys("\nc")
    assert browser.find_element(By.ID, "body-count").text == "4"


def seed_notes(app) -> None:
    """A few notes by Ada and Bob on the subset's tickers, Ada following Bob, watching MSFT."""
    ada = app.config["ADA"]
    bob = create_user(app, "bob@example.com", first_name="Bob", last_name="Babbage")
    now = datetime.now(UTC)
    bodies = [
        (bob, "AAPL", "Services margin expanding; watching the 200-day average.\nTarget 190."),
        (ada, "MSFT", "Azure growth re-accelerating. https://example.com/not-a-link"),
        (bob, "GOOGL", "Ad revenue soft in Q3; " + "verylongwordwithoutspaces" * 6),
        (ada, "AAPL", "<script>alert(1)</script> is shown as text"),
    ]
    with app.app_context():
        db.session.add(Follow(follower_id=ada, followed_id=bob))
        db.session.add(WatchlistEntry(user_id=ada, ticker="MSFT"))
        for i, (user, ticker, body) in enumerate(bodies):
            db.session.add(Note(user_id=user, ticker=ticker, as_of=date(2018, 1, 2 + i),
                                body=body, created_at=now - timedelta(hours=5 - i)))  # fmt: skip
        db.session.commit()


def test_screenshots_of_the_notes_pages(live_app, site, browser):
    """Light, dark and phone views of the pages with notes, for a person to look at."""
    seed_notes(live_app)
    SHOTS.mkdir(parents=True, exist_ok=True)
    profile = f"/users/{live_app.config['ADA']}/"
    pages = {"home": "/", "explore": "/explore/", "profile": profile, "ticker": "/tickers/AAPL/"}
    for theme in ("light", "dark"):
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        browser.execute_script(f"localStorage.setItem('stockdash-theme', '{theme}')")
        for name, path in pages.items():
            browser.get(site + path)
            assert browser.find_elements(By.CSS_SELECTOR, ".note"), path
            browser.save_screenshot(str(SHOTS / f"{name}-{theme}.png"))
    browser.execute_script("localStorage.setItem('stockdash-theme', 'light')")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    for name, path in pages.items():
        browser.get(site + path)
        wide = browser.execute_script(
            "return document.documentElement.scrollWidth > window.innerWidth")
        assert not wide, f"{path} scrolls sideways at 390 px"
        browser.save_screenshot(str(SHOTS / f"{name}-phone.png"))
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)
