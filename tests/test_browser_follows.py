"""Following in headless Chromium: Follow on a profile (a plain form), the count and the button
change, the followers list shows the follower, Unfollow; screenshots of a profile and of a
followers list in light, dark and phone widths (saved under $TMPDIR/shots/s11-follows/)."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import update

from app.extensions import db
from app.models import Follow, User
from tests import test_browser_accounts
from tests.support.browser import console_problems, fill
from tests.support.users import DEFAULT_EMAIL, DEFAULT_PASSWORD, create_user

pytestmark = pytest.mark.browser

SHOTS = Path(
    os.environ.get("STOCKDASH_SHOTS") or Path(tempfile.gettempdir(), "shots", "s11-follows")
)


def log_in(browser, base: str) -> None:
    browser.get(base + "/login/")
    fill(browser, {"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD})
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 20).until(lambda b: "/dash/" in b.current_url)


def click_and_wait(browser, element) -> None:
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 20).until(EC.staleness_of(page))


def followers_count(browser) -> str:
    """The profile's follower count as it reads (without the screen reader's " followers")."""
    return browser.find_element(By.ID, "profile-followers").get_attribute("textContent").split()[0]


def follow_button(browser):
    return browser.find_element(By.CSS_SELECTOR, "#profile-follow button.follow-toggle")


def test_follow_from_a_profile_then_the_list_shows_it_then_unfollow(
    live_app, live_server, browser
):
    create_user(live_app)  # Ada, who logs in
    grace = create_user(
        live_app, email="grace@example.com", first_name="Grace", last_name="Hopper"
    )
    log_in(browser, live_server)
    browser.get(f"{live_server}/users/{grace}/")
    assert followers_count(browser) == "0"
    assert follow_button(browser).get_attribute("textContent") == "Follow Grace Hopper"

    click_and_wait(browser, follow_button(browser))
    assert browser.current_url == f"{live_server}/users/{grace}/"
    assert "You are following Grace Hopper." in browser.find_element(By.CSS_SELECTOR, ".alert").text
    assert followers_count(browser) == "1"
    assert follow_button(browser).get_attribute("textContent") == "Unfollow Grace Hopper"
    assert follow_button(browser).get_attribute("aria-pressed") == "true"

    click_and_wait(browser, browser.find_element(By.ID, "profile-followers"))
    assert browser.current_url == f"{live_server}/users/{grace}/followers/"
    entries = browser.find_elements(By.CSS_SELECTOR, "#follow-list .follow-name")
    assert [entry.text for entry in entries] == ["Ada Lovelace"]
    click_and_wait(browser, entries[0])
    assert "Ada Lovelace" in browser.find_element(By.TAG_NAME, "h1").text

    browser.get(f"{live_server}/users/{grace}/")
    click_and_wait(browser, follow_button(browser))
    assert followers_count(browser) == "0"
    assert follow_button(browser).get_attribute("textContent") == "Follow Grace Hopper"
    browser.get(f"{live_server}/users/{grace}/followers/")
    empty = browser.find_element(By.ID, "follow-list-empty")
    assert empty.text == "No one follows Grace Hopper yet."
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)


def test_screenshots_of_a_profile_and_a_followers_list(
    live_app, live_server, browser, monkeypatch
):
    """Light, dark and phone views, for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(test_browser_accounts, "SHOTS", SHOTS)  # its `shoot`, into our folder
    ada = create_user(live_app)
    grace = create_user(
        live_app, email="grace@example.com", first_name="Grace", last_name="Hopper"
    )
    people = [("Alan", "Turing", "Computable numbers; the imitation game; morphogenesis in "
               "plants and a great deal more besides, written at length."),
              ("Katherine", "Johnson", "Orbital mechanics."),
              ("<script>alert(1)</script>", "Mallory", "<img src=x onerror=alert(1)>"),
              ("Edsger", "Dijkstra", "")]  # fmt: skip
    ids = [create_user(live_app, email=f"p{i}@example.com", first_name=first, last_name=last)
           for i, (first, last, _about) in enumerate(people)]  # fmt: skip
    loner = create_user(live_app, email="emmy@example.com", first_name="Emmy", last_name="Noether")
    now = datetime.now(UTC)
    with live_app.app_context():
        grace_about = "Admiral, computer scientist.\nInvented the first compiler."
        db.session.execute(update(User).where(User.id == grace).values(about_me=grace_about))
        for i, (user_id, (_first, _last, about)) in enumerate(zip(ids, people, strict=True)):
            db.session.execute(update(User).where(User.id == user_id).values(about_me=about))
            db.session.add(Follow(follower_id=user_id, followed_id=grace,
                                  created_at=now - timedelta(hours=3 * i + 1)))  # fmt: skip
            if i % 2:
                db.session.add(Follow(follower_id=ada, followed_id=user_id, created_at=now))
        db.session.add(Follow(follower_id=grace, followed_id=ada, created_at=now))
        db.session.commit()
    log_in(browser, live_server)
    test_browser_accounts.shoot(browser, live_server, {"profile-follow": f"/users/{grace}/",
                                 "followers": f"/users/{grace}/followers/",
                                 "following": f"/users/{ada}/following/",
                                 "following-empty": f"/users/{loner}/following/"},
          )  # fmt: skip
    problems = console_problems(browser)
    assert problems == [], "\n".join(problems)
