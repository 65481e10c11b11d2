"""The account journey in real headless Chromium: register, edit the profile, see the avatar and
name in the navbar of a Flask page and of the dashboard, change the password, log out, reset it
by e-mail (a real SMTP server) and log in with the new one. And screenshots of the new pages in
light, dark and phone widths (saved under $TMPDIR/shots/s9-accounts/)."""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from app.accounts.tokens import reset_token
from app.extensions import db
from app.models import User
from tests.support.browser import console_problems, fill
from tests.support.users import create_user

pytestmark = pytest.mark.browser

EMAIL = "grace@example.com"
FIRST_PASSWORD = "first password"
SECOND_PASSWORD = "second password"
RESET_PASSWORD = "third password"
# Where the screenshots go: STOCKDASH_SHOTS, else shots/s9-accounts in the temporary directory.
SHOTS = Path(
    os.environ.get("STOCKDASH_SHOTS") or Path(tempfile.gettempdir(), "shots", "s9-accounts")
)
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
LINK_RE = re.compile(r"(http://127\.0\.0\.1:\d+/reset-password/[^/\s]+/)")


@pytest.fixture
def mail_site(make_app, smtp_server):
    """The production-like app (CSP, CSRF, limits) sending mail to `smtp_server`, served."""
    app = make_app(TESTING=False, DEBUG=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def submit(browser, values: dict[str, str], button: str = "submit") -> None:
    """Fill and submit a form, then wait for the answer's page: a next `fill` must not find the
    old page's fields (a StaleElementReferenceException when the new page replaces them)."""
    fill(browser, values)
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, button).click()
    WebDriverWait(browser, 20).until(EC.staleness_of(page))


def wait_for_path(browser, base: str, path: str) -> None:
    WebDriverWait(browser, 20).until(lambda b: b.current_url.split("?")[0] == base + path)


def navbar_shows(browser, name: str) -> None:
    """The navbar's user menu shows `name` and a loaded avatar."""
    wait = WebDriverWait(browser, 20)
    wait.until(EC.text_to_be_present_in_element((By.ID, "nav-user-name"), name))
    avatar = browser.find_element(By.ID, "nav-avatar")
    wait.until(lambda b: b.execute_script("return arguments[0].naturalWidth", avatar) > 0)


def test_account_journey(mail_site, smtp_server, browser):
    _app, base = mail_site
    wait = WebDriverWait(browser, 20)
    browser.get(base + "/register/")
    submit(browser, {"email": EMAIL, "first_name": "Grace", "last_name": "Hopper",
                     "password": FIRST_PASSWORD, "password2": FIRST_PASSWORD})  # fmt: skip
    wait_for_path(browser, base, "/login/")
    submit(browser, {"email": EMAIL, "password": FIRST_PASSWORD})
    wait_for_path(browser, base, "/dash/")

    browser.get(base + "/settings/profile/")
    about = browser.find_element(By.NAME, "about_me")
    about.send_keys("Admiral, compiler writer.")
    assert browser.find_element(By.ID, "about_me-count").text == "25"  # the live counter
    submit(browser, {"first_name": "Amazing", "last_name": "Grace"})
    wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Amazing Grace"))
    assert "Admiral, compiler writer." in browser.page_source
    profile_url = browser.current_url
    for path in ("/", "/dash/"):
        browser.get(base + path)
        navbar_shows(browser, "Amazing Grace")

    browser.get(base + "/settings/password/")
    submit(browser, {"current_password": FIRST_PASSWORD, "password": SECOND_PASSWORD,
                     "password2": SECOND_PASSWORD})  # fmt: skip
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".alert"), "changed"))
    browser.get(profile_url)  # still logged in
    navbar_shows(browser, "Amazing Grace")

    browser.find_element(By.ID, "nav-user").click()
    wait.until(EC.element_to_be_clickable((By.ID, "nav-logout"))).click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".alert"), "logged out"))

    browser.get(base + "/login/")
    browser.find_element(By.ID, "forgot-password").click()
    wait_for_path(browser, base, "/reset-password/")
    submit(browser, {"email": EMAIL})
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".alert"), "on its way"))
    (message,) = smtp_server.mailbox.wait_for(1)
    link = LINK_RE.search(message.get_content()).group(1)
    browser.get(link)
    submit(browser, {"password": RESET_PASSWORD, "password2": RESET_PASSWORD})
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".alert"), "has been reset"))
    submit(browser, {"email": EMAIL, "password": RESET_PASSWORD})
    wait_for_path(browser, base, "/dash/")
    navbar_shows(browser, "Amazing Grace")
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)


PAGES = {
    "profile": "/users/{user_id}/",
    "settings-profile": "/settings/profile/",
    "settings-password": "/settings/password/",
    "settings-security": "/settings/security/",
    "settings-delete": "/settings/delete/",
}


def shoot(browser, base: str, pages: dict[str, str], suffix: str = "") -> None:
    """Save a screenshot of each page in light, dark and phone width."""
    for theme in ("light", "dark"):
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        browser.get(base + "/")
        browser.execute_script(f"localStorage.setItem('stockdash-theme', '{theme}')")
        for name, path in pages.items():
            browser.get(base + path)
            browser.save_screenshot(str(SHOTS / f"{name}{suffix}-{theme}.png"))
    browser.execute_script("localStorage.setItem('stockdash-theme', 'light')")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    for name, path in pages.items():
        browser.get(base + path)
        browser.save_screenshot(str(SHOTS / f"{name}{suffix}-phone.png"))
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_screenshots_of_the_account_pages(live_app, live_server, browser):
    """Light, dark and phone views of every new page, for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    user_id = create_user(live_app, email=EMAIL, password=FIRST_PASSWORD,
                          first_name="Grace", last_name="Hopper")  # fmt: skip
    with live_app.test_request_context():
        token = reset_token(db.session.get(User, user_id))
    anonymous = {"reset-request-no-mail": "/reset-password/",
                 "reset-password": f"/reset-password/{token}/",
                 "reset-invalid": "/reset-password/garbage/"}  # fmt: skip
    shoot(browser, live_server, anonymous)
    expected = "/reset-password/garbage/ - Failed to load resource: the server responded with a "
    assert all(expected in problem for problem in console_problems(browser))  # the bad link's 400
    browser.get(live_server + "/login/")
    for password in ("wrong one", FIRST_PASSWORD):
        submit(browser, {"email": EMAIL, "password": password})
    WebDriverWait(browser, 20).until(lambda b: "/dash/" in b.current_url)
    browser.get(live_server + "/settings/profile/")
    submit(browser, {"about_me": "Admiral, computer scientist.\nInvented the first compiler."})
    WebDriverWait(browser, 20).until(lambda b: "/users/" in b.current_url)
    account_pages = {name: path.format(user_id=user_id) for name, path in PAGES.items()}
    shoot(browser, live_server, account_pages)
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)
