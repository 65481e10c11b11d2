"""End to end in real headless Chromium: register, log in, see the Dash app, log out."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.browser import console_problems, fill

pytestmark = pytest.mark.browser


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
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)

    # Log out from the dashboard's navbar: the user menu's POST form, CSRF token included.
    browser.find_element(By.ID, "nav-user").click()
    wait.until(EC.element_to_be_clickable((By.ID, "nav-logout"))).click()
    wait.until(EC.url_to_be(live_server + "/"))
    assert "You have been logged out." in browser.page_source
    browser.get(live_server + "/dash/")
    wait.until(EC.url_contains("/login/"))
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)


def test_junk_under_dash_is_the_sites_404_page_not_json(live_server, browser):
    wait = WebDriverWait(browser, 20)
    # Logged out: a mistyped link shows the site's 404 page in its layout, not raw JSON.
    browser.get(live_server + "/dash/nonsense")
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "nav")))
    assert "Page not found" in browser.find_element(By.TAG_NAME, "h1").text
    assert "authentication required" not in browser.page_source
    # A Dash route opened in the browser sends the visitor to log in.
    browser.get(live_server + "/dash/_dash-layout")
    wait.until(EC.url_contains("/login/?next="))
