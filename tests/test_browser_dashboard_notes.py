"""Research notes on the dashboard in headless Chromium, on real prices: markers on the price line,
a real mouse hover whose label shows hostile note text as text (no <a>, <img> or <script> in the
hover layer, no alert), the Notes switch writing notes=0, and the Notes CSV; screenshots in
light, dark and phone widths, and one with a hover label open (saved under
$TMPDIR/shots/s11-chart/)."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from app.extensions import db
from app.models import Note
from tests.support.apps import load_prices
from tests.support.browser import console_problems
from tests.support.users import create_user
from tests.test_browser_dashboard import (
    downloaded_rows,
    log_in_from,
    wait_for_traces,
    wait_until_idle,
)
from tests.test_dashboard_notes_units import HOSTILE

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("STOCKDASH_SHOTS") or Path(tempfile.gettempdir(), "shots", "s11-chart"))
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
VIEW = "/dash/?tickers=AAPL,MSFT&start=2016-01-01&end=2016-06-30"
HOSTILE_DAY = date(2016, 3, 1)
HOSTILE_AUTHOR = ("<b>Eve</b>", "<img src=x onerror=alert(2)>")
# Where marker `arguments[1]` of the notes trace `arguments[0]` is, from the plot's centre (as
# Selenium offsets a move), or null while it is not drawn.
MARKER_POINT_JS = """
const gd = document.querySelector('#price-chart .js-plotly-plot');
if (!gd || !gd._fullData) return null;
// The price panel's scatter traces (with several tickers, volumes are scatter lines too, in a
// subplot of their own).
const scatter = gd._fullData.filter(t => t.type === 'scatter' && t.xaxis === 'x');
const index = scatter.findIndex(t => t.name === arguments[0]);
const trace = index < 0 ? null : gd.querySelectorAll('.subplot.xy .scatterlayer .trace')[index];
const point = trace && trace.querySelectorAll('path.point')[arguments[1]];
if (!point) return null;
const box = point.getBoundingClientRect(), plot = gd.getBoundingClientRect();
return {x: box.left + box.width / 2 - (plot.left + plot.width / 2),
        y: box.top + box.height / 2 - (plot.top + plot.height / 2)};
"""
HOVER_JS = """
const layer = document.querySelector('#price-chart .hoverlayer');
return layer ? {text: layer.textContent,
                elements: layer.querySelectorAll('a, img, script, iframe').length} : null;
"""


@pytest.fixture
def noted_dashboard(live_app, live_server, browser, sp500_subset):
    """Real AAPL/MSFT/GOOGL prices, the default user, and notes in the first half of 2016 by an
    analyst with a hostile name: hostile texts on one day of AAPL, plain ones elsewhere."""
    load_prices(live_app, sp500_subset)
    create_user(live_app)
    author = create_user(live_app, "eve@example.com", "eve's password 1",
                         first_name=HOSTILE_AUTHOR[0], last_name=HOSTILE_AUTHOR[1])
    start = datetime(2017, 1, 1, tzinfo=UTC)
    notes = [Note(user_id=author, ticker="AAPL", as_of=HOSTILE_DAY, body=body,
                  created_at=start + timedelta(minutes=i)) for i, body in enumerate(HOSTILE)]
    notes += [Note(user_id=author, ticker=ticker, as_of=date(2016, month, 15),
                   body=f"{ticker}: a plain note for month {month}",
                   created_at=start + timedelta(hours=month))
              for ticker in ("AAPL", "MSFT") for month in (1, 2, 4, 5, 6)]
    with live_app.app_context():
        db.session.add_all(notes)
        db.session.commit()
    return live_server


def has_markers(traces) -> bool:
    return {"AAPL notes", "MSFT notes"} <= {t["name"] for t in traces}


def marker_point(browser, name: str, index: int) -> dict:
    """Where marker `index` of the notes trace `name` is, once it is drawn."""
    return WebDriverWait(browser, 20).until(
        lambda b: b.execute_script(MARKER_POINT_JS, name, index))


def hover(browser, point: dict) -> dict:
    """Move the real mouse onto `point` (from the plot's centre) and return the hover layer's
    text and how many link, image, script or frame elements it holds, once it shows."""
    plot = browser.find_element(By.CSS_SELECTOR, "#price-chart .js-plotly-plot")
    # Onto the point from a few pixels beside it: a real move, as a hand makes it.
    ActionChains(browser).move_to_element_with_offset(
        plot, int(point["x"]) + 4, int(point["y"])).move_by_offset(-4, 0).perform()
    found = {}

    def shown(b):
        found.update(b.execute_script(HOVER_JS) or {})
        return bool(found.get("text"))

    WebDriverWait(browser, 10).until(shown)
    return found


def no_alert(browser) -> bool:
    try:
        _ = browser.switch_to.alert  # raises when none is open
    except NoAlertPresentException:
        return True
    return False


def test_hovering_a_marker_shows_hostile_text_as_text(noted_dashboard, browser, tmp_path):
    base = noted_dashboard
    log_in_from(browser, base, VIEW)
    wait_for_traces(browser, has_markers)
    wait_until_idle(browser)
    hovered = hover(browser, marker_point(browser, "AAPL notes", 0))  # January's marker
    assert "a plain note for month 1" in hovered["text"]
    # The third marker is the hostile notes' one, on 1 March (after January and February).
    hovered = hover(browser, marker_point(browser, "AAPL notes", 2))
    text = hovered["text"]
    for body in HOSTILE:
        assert body in text, text
    assert f"{HOSTILE_AUTHOR[0]} {HOSTILE_AUTHOR[1]}" in text
    assert hovered["elements"] == 0
    assert no_alert(browser)
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "dashboard-notes-hover-light.png"))

    # The Notes CSV holds the notes shown.
    rows = downloaded_rows(browser, "notes-csv-button", tmp_path, "stockdash-notes-AAPL-MSFT.csv")
    assert len(rows) == len(HOSTILE) + 10
    assert set(HOSTILE) <= {row["body"] for row in rows}

    # The Notes switch hides them and writes notes=0; the CSV button goes off.
    browser.find_element(By.XPATH, "//label[normalize-space()='Notes']").click()
    WebDriverWait(browser, 20).until(lambda b: "notes=0" in b.current_url)
    wait_for_traces(browser, lambda t: t and not any(x["name"].endswith(" notes") for x in t))
    WebDriverWait(browser, 20).until(
        lambda b: not b.find_element(By.ID, "notes-csv-button").is_enabled())
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)


def test_screenshots_of_the_dashboard_with_notes(noted_dashboard, browser):
    """Light, dark and phone views of the chart with its markers, for a person to look at."""
    log_in_from(browser, noted_dashboard, VIEW)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for theme in ("light", "dark", "phone"):
        if theme == "phone":
            browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
        else:
            browser.execute_script(f"localStorage.setItem('stockdash-theme', '{theme}')")
        browser.get(noted_dashboard + VIEW)
        wait_for_traces(browser, has_markers)
        wait_until_idle(browser)
        if theme == "phone":  # the chart is under the controls there
            browser.execute_script("document.getElementById('price-chart').scrollIntoView()")
        time.sleep(0.5)  # the last paint
        browser.save_screenshot(str(SHOTS / f"dashboard-notes-{theme}.png"))
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
