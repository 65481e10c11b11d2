"""Profiles (/users/<id>/), their identicons, and the navbar's user menu."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from app.accounts.avatars import identicon_svg
from app.extensions import db
from app.humanize import time_ago
from app.models import User
from tests.support.users import DEFAULT_EMAIL, create_user


def test_profile_shows_the_owner_their_email(client, auth, user):
    auth.login()
    page = client.get(f"/users/{user}/").get_data(as_text=True)
    assert "Ada Lovelace" in page and DEFAULT_EMAIL in page
    assert 'id="edit-profile"' in page
    assert f'src="/users/{user}/avatar.svg"' in page
    assert 'id="profile-logins">1<' in page
    assert "just now" in page  # last seen: at this login


def test_others_never_see_the_email(app, client, auth, user):
    other = create_user(app, email="grace@example.com", first_name="Grace", last_name="Hopper")
    with app.app_context():
        db.session.execute(
            update(User)
            .where(User.id == other)
            .values(about_me="<b>COBOL</b>", last_seen_at=datetime.now(UTC) - timedelta(hours=3))
        )
        db.session.commit()
    auth.login()
    page = client.get(f"/users/{other}/").get_data(as_text=True)
    assert "Grace Hopper" in page and "grace@example.com" not in page
    assert "&lt;b&gt;COBOL&lt;/b&gt;" in page  # shown as written, never as HTML
    assert ">3 hours ago</time>" in page and 'title="20' in page  # exact time on hover
    assert 'id="edit-profile"' not in page


@pytest.mark.parametrize("path", ["/users/999/", "/users/99999999999999999999/", "/users/0/"])
def test_unknown_profiles_are_404(client, auth, user, path):
    auth.login()
    assert client.get(path).status_code == 404
    assert client.get(path + "avatar.svg").status_code == 404


def test_profiles_need_a_login(client, user):
    response = client.get(f"/users/{user}/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/")


def test_avatar_is_an_identicon_cached_by_etag(client, auth, user):
    auth.login()
    response = client.get(f"/users/{user}/avatar.svg", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "private, max-age=86400"
    etag = response.headers["ETag"]
    assert gzip.decompress(response.get_data()).decode() == identicon_svg(user)
    again = client.get(
        f"/users/{user}/avatar.svg", headers={"If-None-Match": etag, "Accept-Encoding": "gzip"}
    )
    assert again.status_code == 304 and again.get_data() == b""


def test_identicons_differ_between_users_and_never_change():
    pictures = {identicon_svg(user_id) for user_id in range(1, 51)}
    assert len(pictures) == 50
    assert identicon_svg(7) == identicon_svg(7)
    assert "http" not in identicon_svg(7).replace("http://www.w3.org/2000/svg", "")


def test_navbar_user_menu_has_avatar_profile_and_settings(client, auth, user):
    auth.login()
    for path in ("/", "/dash/"):
        page = client.get(path).get_data(as_text=True)
        assert 'id="nav-avatar"' in page and f"/users/{user}/avatar.svg" in page, path
        assert f'href="/users/{user}/">Profile</a>' in page, path
        assert 'href="/settings/profile/">Settings</a>' in page, path
        assert 'id="nav-logout"' in page, path


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "just now"), (61, "1 minute ago"), (3 * 3600 + 5, "3 hours ago"),
     (2 * 86400, "2 days ago"), (400 * 86400, "1 year ago")],
)  # fmt: skip
def test_time_ago(seconds, text):
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert time_ago(now - timedelta(seconds=seconds), now) == text
    naive = (now - timedelta(seconds=seconds)).replace(tzinfo=None)  # as SQLite returns it
    assert time_ago(naive, now) == text
