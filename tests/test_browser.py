"""End to end in real headless Chromium: register, log in, see the Dash app, log out."""

from __future__ import annotations

import shutil
import threading

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from tests.conftest import IN_CI

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def live_server(make_app):
    """The app (debug off, CSRF and CSP as in production) served on a free loopback port."""
    app = make_app(TESTING=False, DEBUG=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def browser():
    """Debian's Chromium through Debian's chromedriver; nothing is downloaded."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        message = "chromium and chromium-driver are not installed (apt-get install them)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def fill(driver, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = driver.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)


def console_problems(driver) -> list[str]:
    """Console errors and CSP violations the page produced so far."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"]
    ]


def test_register_login_dashboard_logout(live_server, browser):
    wait = WebDriverWait(browser, 20)
    browser.get(live_server + "/register/")
    fill(
        browser,
        {
            "email": "grace@example.com",
            "first_name": "Grace",
            "last_name": "Hopper",
            "password": "compiler pioneer",
            "password2": "compiler pioneer",
        },
    )
    browser.find_element(By.ID, "submit").click()
    wait.until(EC.url_to_be(live_server + "/login/"))
    assert "Your account has been created" in browser.page_source

    # A deep link while logged out goes through the login form and comes back.
    browser.get(live_server + "/dash/?tickers=AAPL")
    wait.until(EC.url_contains("/login/?next="))
    fill(browser, {"email": "grace@example.com", "password": "compiler pioneer"})
    browser.find_element(By.ID, "submit").click()
    wait.until(EC.url_to_be(live_server + "/dash/?tickers=AAPL"))

    # The Dash app renders and its callback runs, under the production CSP.
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#price-chart .main-svg")))
    assert "Grace Hopper" in browser.find_element(By.ID, "nav-user").text
    assert console_problems(browser) == []

    # Log out through the confirmation page.
    browser.find_element(By.LINK_TEXT, "Log out").click()
    wait.until(EC.url_to_be(live_server + "/logout/"))
    browser.find_element(By.ID, "submit").click()
    wait.until(EC.url_to_be(live_server + "/"))
    assert "You have been logged out." in browser.page_source
    browser.get(live_server + "/dash/")
    wait.until(EC.url_contains("/login/"))
    assert console_problems(browser) == []
