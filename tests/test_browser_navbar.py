"""The one navbar in real headless Chromium, on a Flask page and on the Dash page: the toggler at
phone width, the user menu's POST logout, the theme switch restyling the chart; and a `^GSPC`
deep link drawing its chart."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.apps import load_prices
from tests.support.browser import console_problems
from tests.support.users import create_user
from tests.test_browser_dashboard import log_in_from, wait_for_traces
from tests.test_ticker_end_to_end import DAYS, write_symbol_prices

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
PAPER_JS = """
const gd = document.querySelector('#price-chart .js-plotly-plot');
return gd && gd._fullLayout ? gd._fullLayout.paper_bgcolor : null;
"""


@pytest.fixture
def site(live_app, live_server, browser, tmp_path):
    """The live site with ^GSPC, BRK.B and BRK-B imported, and the browser logged in."""
    path = tmp_path / "symbols.csv"
    write_symbol_prices(path)
    load_prices(live_app, path)
    create_user(live_app)
    log_in_from(browser, live_server, "/dash/")
    return live_server


def open_menu_at_phone_width(browser) -> None:
    """At 390 px the navbar is collapsed behind its toggler; open it, then the user menu."""
    wait = WebDriverWait(browser, 10)
    toggler = browser.find_element(By.CSS_SELECTOR, "#site-navbar .navbar-toggler")
    assert toggler.is_displayed()
    assert not browser.find_element(By.ID, "nav-user").is_displayed()
    toggler.click()
    wait.until(EC.visibility_of_element_located((By.ID, "nav-user"))).click()
    wait.until(EC.visibility_of_element_located((By.ID, "nav-logout")))


def test_phone_width_toggler_and_logout_by_post_from_the_dashboard(site, browser):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    browser.get(site + "/")
    open_menu_at_phone_width(browser)
    assert browser.find_element(By.ID, "theme-switch").is_displayed()

    browser.get(site + "/dash/?tickers=^GSPC&volume=0")  # the deep link draws its chart
    (trace,) = wait_for_traces(browser, lambda traces: traces[0]["name"] == "^GSPC")
    assert trace["n"] == DAYS
    open_menu_at_phone_width(browser)
    form = browser.find_element(By.ID, "nav-logout").find_element(By.XPATH, "./ancestor::form")
    assert form.get_attribute("method") == "post"
    assert form.find_element(By.NAME, "csrf_token").get_attribute("value")
    browser.find_element(By.ID, "nav-logout").click()
    # A GET of /logout/ would have shown the confirmation page; the POST logs out at once.
    WebDriverWait(browser, 20).until(EC.url_to_be(site + "/"))
    assert "You have been logged out." in browser.page_source
    browser.get(site + "/dash/")
    WebDriverWait(browser, 20).until(EC.url_contains("/login/"))
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)


def test_the_navbar_switch_restyles_the_chart(site, browser):
    browser.get(site + "/dash/?tickers=BRK.B,BRK-B&volume=0")
    traces = wait_for_traces(browser, lambda t: len(t) == 2)
    assert [t["name"] for t in traces] == ["BRK.B", "BRK-B"]
    assert all(t["n"] == DAYS for t in traces)
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: b.execute_script(PAPER_JS) == "#ffffff")
    browser.find_element(By.ID, "theme-switch").click()
    wait.until(lambda b: b.execute_script(PAPER_JS) == "#212529")  # the dark page's
    assert browser.execute_script("return document.documentElement.dataset.bsTheme") == "dark"
    browser.find_element(By.ID, "theme-switch").click()
    wait.until(lambda b: b.execute_script(PAPER_JS) == "#ffffff")
    assert browser.execute_script("return localStorage.getItem('stockdash-theme')") == "light"
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)
