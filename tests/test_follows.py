"""Following analysts: the data layer (as the microblog's model tests), the real Follow /
Unfollow forms, the two lists and their pages, hostile names, account deletion; both databases."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.accounts.follows import (
    FollowCounts,
    SelfFollow,
    UnknownUser,
    follow,
    follow_counts,
    followers_page,
    following_page,
    is_following,
    unfollow,
)
from app.extensions import db
from app.models import Follow
from tests.support.users import (
    CSRF_RE,
    DEFAULT_PASSWORD,
    AuthActions,
    create_user,
    csrf_token_from,
    submit,
)

START = datetime(2026, 3, 1, 9, 30, 0, 250000, tzinfo=UTC)
HOSTILE_NAMES = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
NEXT_RE = re.compile(r'name="next" type="hidden" value="([^"]*)"')


@pytest.fixture
def analysts(app):
    """Three analysts: Ada (the default user, who logs in), Grace and Alan."""
    ada = create_user(app)
    grace = create_user(app, email="grace@example.com", first_name="Grace", last_name="Hopper")
    alan = create_user(app, email="alan@example.com", first_name="Alan", last_name="Turing")
    return ada, grace, alan


def add_follows(app, pairs_and_times):
    """Follow rows written directly, at chosen times (to control the lists' order)."""
    with app.app_context():
        db.session.add_all(
            Follow(follower_id=follower, followed_id=followed, created_at=at)
            for follower, followed, at in pairs_and_times
        )
        db.session.commit()


def follow_rows(app):
    with app.app_context():
        rows = db.session.execute(select(Follow.follower_id, Follow.followed_id)).all()
        return sorted(tuple(row) for row in rows)


def listed_ids(page):
    return [row.User.id for row in page.items]


# --- the data layer -----------------------------------------------------------------------


def test_follow_unfollow_is_following_and_counts(app, analysts):
    ada, grace, alan = analysts
    with app.app_context():
        assert not is_following(ada, grace)
        follow(ada, grace)
        follow(ada, alan)
        follow(alan, grace)
        assert is_following(ada, grace) and not is_following(grace, ada)
        assert follow_counts(grace) == FollowCounts(followers=2, following=0)
        assert follow_counts(ada) == FollowCounts(followers=0, following=2)
        assert follow_counts(alan) == FollowCounts(followers=1, following=1)
        unfollow(ada, grace)
        assert not is_following(ada, grace) and is_following(alan, grace)
        assert follow_counts(grace) == FollowCounts(followers=1, following=0)
        assert follow_counts(ada) == FollowCounts(followers=0, following=1)


def test_repeating_follow_or_unfollow_is_harmless(app, analysts):
    ada, grace, _alan = analysts
    with app.app_context():
        follow(ada, grace)
        first_time = db.session.scalar(select(Follow.created_at))
        follow(ada, grace)
        assert db.session.scalar(select(func.count()).select_from(Follow)) == 1
        assert db.session.scalar(select(Follow.created_at)) == first_time  # keeps its place
        unfollow(ada, grace)
        unfollow(ada, grace)
        unfollow(grace, ada)  # never followed
        assert follow_counts(ada) == FollowCounts(0, 0) == follow_counts(grace)


def test_following_oneself_is_refused_also_by_the_database(app, analysts):
    ada, _grace, _alan = analysts
    with app.app_context():
        with pytest.raises(SelfFollow):
            follow(ada, ada)
        db.session.add(Follow(follower_id=ada, followed_id=ada, created_at=START))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
    assert follow_rows(app) == []


def test_following_an_unknown_user_writes_nothing(app, analysts):
    ada, _grace, _alan = analysts
    with app.app_context():
        with pytest.raises(UnknownUser):
            follow(ada, 987654)
        assert db.session.scalar(select(func.count()).select_from(Follow)) == 0
        follow(ada, _grace)  # the session is usable afterwards
    assert follow_rows(app) == [(ada, _grace)]


def test_lists_are_newest_follow_first_ties_broken_by_id(app, analysts):
    ada, grace, alan = analysts
    ids = [create_user(app, email=f"u{i}@example.com", first_name=f"U{i}") for i in range(3)]
    # Alan followed Ada first; then the three others at one and the same microsecond.
    add_follows(app, [(alan, ada, START)] + [(i, ada, START + timedelta(hours=1)) for i in ids])
    add_follows(app, [(ada, grace, START), (ada, alan, START + timedelta(minutes=5))])
    with app.test_request_context():
        page = followers_page(ada, viewer_id=grace)
        assert listed_ids(page) == [*sorted(ids, reverse=True), alan]
        assert [row.viewer_follows for row in page.items] == [False] * 4
        assert listed_ids(following_page(ada, viewer_id=ada)) == [alan, grace]
        assert [row.viewer_follows for row in following_page(ada, viewer_id=ada).items] == [
            True,
            True,
        ]
        assert listed_ids(following_page(grace, viewer_id=ada)) == []
        assert listed_ids(followers_page(grace, viewer_id=ada)) == [ada]


# --- the profile and its buttons, through the real forms ------------------------------------


def press(client, page_path: str, action: str, next_value: str | None = None):
    """Submit the form on `page_path` whose action is `action`, as a browser would (its CSRF
    token and its hidden `next`, unless `next_value` replaces it)."""
    page = client.get(page_path).get_data(as_text=True)
    assert f'action="{action}"' in page, f"no form to {action} on {page_path}"
    form = page.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    token = CSRF_RE.search(form).group(1)
    written = html.unescape(NEXT_RE.search(form).group(1))
    return client.post(action, data={"csrf_token": token, "next": next_value or written})


def profile_of(client, user_id: int) -> str:
    return client.get(f"/users/{user_id}/").get_data(as_text=True)


def test_profile_shows_counts_linking_to_the_lists_and_the_follow_button(
    app, client, auth, analysts
):
    ada, grace, alan = analysts
    add_follows(app, [(alan, grace, START), (ada, alan, START), (grace, alan, START)])
    auth.login()
    page = profile_of(client, grace)
    assert f'href="/users/{grace}/followers/" id="profile-followers">1<' in page
    assert f'href="/users/{grace}/following/" id="profile-following">1<' in page
    assert f'action="/users/{grace}/follow"' in page and ">Follow<" in page
    assert 'id="edit-profile"' not in page
    own = profile_of(client, ada)
    assert 'id="profile-followers">0<' in own and 'id="profile-following">1<' in own
    assert 'id="profile-follow">' not in own and 'follow"' not in own  # no button for oneself
    assert 'id="edit-profile"' in own


def test_follow_and_unfollow_through_the_profile_buttons(app, client, auth, analysts):
    ada, grace, _alan = analysts
    auth.login()
    response = press(client, f"/users/{grace}/", f"/users/{grace}/follow")
    assert response.status_code == 302 and response.headers["Location"] == f"/users/{grace}/"
    page = profile_of(client, grace)
    assert "You are following Grace Hopper." in page
    assert 'id="profile-followers">1<' in page
    assert f'action="/users/{grace}/unfollow"' in page and ">Unfollow<" in page
    assert 'aria-pressed="true"' in page
    assert follow_rows(app) == [(ada, grace)]

    response = press(client, f"/users/{grace}/", f"/users/{grace}/unfollow")
    assert response.status_code == 302 and response.headers["Location"] == f"/users/{grace}/"
    page = profile_of(client, grace)
    assert "You are no longer following Grace Hopper." in page
    assert 'id="profile-followers">0<' in page and f'action="/users/{grace}/follow"' in page
    assert follow_rows(app) == []


def test_pressing_a_stale_button_again_is_harmless(app, client, auth, analysts):
    ada, grace, _alan = analysts
    auth.login()
    token = csrf_token_from(client.get(f"/users/{grace}/"))
    for _ in range(2):  # e.g. a second tab showing the old button
        assert client.post(f"/users/{grace}/follow", data={"csrf_token": token}).status_code == 302
    assert follow_rows(app) == [(ada, grace)]
    for _ in range(2):
        response = client.post(f"/users/{grace}/unfollow", data={"csrf_token": token})
        assert response.status_code == 302
    assert follow_rows(app) == []


def test_follow_posts_need_their_csrf_token(app, client, auth, analysts):
    ada, grace, _alan = analysts
    auth.login()
    assert client.post(f"/users/{grace}/follow").status_code == 400
    assert client.post(f"/users/{grace}/follow", data={"csrf_token": "forged"}).status_code == 400
    assert follow_rows(app) == []
    add_follows(app, [(ada, grace, START)])
    assert client.post(f"/users/{grace}/unfollow").status_code == 400
    assert follow_rows(app) == [(ada, grace)]


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_a_get_never_follows(app, client, auth, analysts, action):
    _ada, grace, _alan = analysts
    auth.login()
    assert client.get(f"/users/{grace}/{action}").status_code == 405
    assert follow_rows(app) == []


@pytest.mark.parametrize("user_id", ["999", "99999999999999999999", "0", "2147483648"])
@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_unknown_ids_are_404(app, client, auth, analysts, user_id, action):
    auth.login()
    token = csrf_token_from(client.get("/settings/profile/"))
    assert client.post(f"/users/{user_id}/{action}", data={"csrf_token": token}).status_code == 404
    assert client.get(f"/users/{user_id}/followers/").status_code == 404
    assert client.get(f"/users/{user_id}/following/").status_code == 404
    assert follow_rows(app) == []


def test_following_oneself_is_refused_with_a_message(app, client, auth, analysts):
    ada, _grace, _alan = analysts
    auth.login()
    token = csrf_token_from(client.get("/settings/profile/"))  # own profile: no button
    response = client.post(f"/users/{ada}/follow", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == f"/users/{ada}/"
    page = profile_of(client, ada)
    assert "You cannot follow yourself." in page and 'id="profile-followers">0<' in page
    assert client.post(f"/users/{ada}/unfollow", data={"csrf_token": token}).status_code == 302
    assert follow_rows(app) == []


@pytest.mark.parametrize(
    "unsafe",
    ["//evil.example/", "https://evil.example/", "/\\evil.example", "\t//evil.example",
     "javascript:alert(1)", "evil.example"],
)  # fmt: skip
def test_unsafe_next_is_ignored(app, client, auth, analysts, unsafe):
    _ada, grace, _alan = analysts
    auth.login()
    response = press(client, f"/users/{grace}/", f"/users/{grace}/follow", next_value=unsafe)
    assert response.headers["Location"] == f"/users/{grace}/"


def test_a_safe_next_is_followed(app, client, auth, analysts):
    _ada, grace, alan = analysts
    add_follows(app, [(grace, alan, START)])
    auth.login()
    # The button on Alan's followers list comes back to that list.
    response = press(client, f"/users/{alan}/followers/", f"/users/{grace}/follow")
    assert response.headers["Location"] == f"/users/{alan}/followers/"
    response = press(
        client, f"/users/{grace}/", f"/users/{grace}/unfollow", next_value="/tickers/?q=a"
    )
    assert response.headers["Location"] == "/tickers/?q=a"


@pytest.mark.parametrize(
    "path", ["/users/{id}/followers/", "/users/{id}/following/", "/users/{id}/"]
)
def test_pages_need_a_login(client, analysts, path):
    response = client.get(path.format(id=analysts[1]))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/")


def test_anonymous_posts_change_nothing(app, analysts):
    _ada, grace, _alan = analysts
    anonymous = app.test_client()
    token = csrf_token_from(anonymous.get("/login/"))
    response = anonymous.post(f"/users/{grace}/follow", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/")
    assert follow_rows(app) == []


# --- the lists ------------------------------------------------------------------------------


def test_lists_show_avatar_name_about_and_buttons(app, client, auth, analysts):
    ada, grace, alan = analysts
    add_follows(app, [(alan, grace, START), (ada, grace, START + timedelta(minutes=1))])
    auth.login()
    page = client.get(f"/users/{grace}/followers/").get_data(as_text=True)
    assert "Followers of Grace Hopper" in page and 'aria-current="page"' in page
    assert page.index(f'id="user-{ada}"') < page.index(f'id="user-{alan}"')  # newest first
    alan_entry = page.split(f'id="user-{alan}"')[1].split("</li>")[0]
    assert f'src="/users/{alan}/avatar.svg"' in alan_entry
    assert f'href="/users/{alan}/"' in alan_entry and "Alan Turing" in alan_entry
    assert f'action="/users/{alan}/follow"' in alan_entry  # Ada does not follow Alan
    ada_entry = page.split(f'id="user-{ada}"')[1].split("</li>")[0]
    assert 'follow"' not in ada_entry and ">You<" in ada_entry  # no button for oneself
    following = client.get(f"/users/{alan}/following/").get_data(as_text=True)
    assert "Followed by Alan Turing" in following
    entry = following.split(f'id="user-{grace}"')[1].split("</li>")[0]
    assert f'action="/users/{grace}/unfollow"' in entry  # Ada follows Grace


def test_about_me_appears_in_the_lists(app, client, auth, analysts):
    ada, grace, _alan = analysts
    auth.login()
    submit(client, "/settings/profile/", {"first_name": "Ada", "last_name": "Lovelace",
                                          "about_me": "Poetical science " * 8})  # fmt: skip
    add_follows(app, [(ada, grace, START)])
    page = client.get(f"/users/{grace}/followers/").get_data(as_text=True)
    assert 'class="small text-truncate follow-about"' in page and "Poetical science" in page


def test_empty_lists_say_so(client, auth, analysts):
    ada, grace, _alan = analysts
    auth.login()
    assert "No one follows Grace Hopper yet." in client.get(
        f"/users/{grace}/followers/"
    ).get_data(as_text=True)
    assert "Grace Hopper does not follow anyone yet." in client.get(
        f"/users/{grace}/following/"
    ).get_data(as_text=True)
    assert "No one follows you yet." in client.get(f"/users/{ada}/followers/").get_data(
        as_text=True
    )
    assert "You do not follow anyone yet." in client.get(f"/users/{ada}/following/").get_data(
        as_text=True
    )


def test_a_page_past_the_end_is_empty_with_a_way_back(app, client, auth, analysts):
    ada, grace, _alan = analysts
    add_follows(app, [(ada, grace, START)])
    auth.login()
    page = client.get(f"/users/{grace}/followers/?before=1.1").get_data(as_text=True)
    assert "Nothing more to show here." in page and f'href="/users/{grace}/followers/"' in page
    assert 'rel="next"' not in page and 'rel="prev"' not in page


def links(page: str) -> dict[str, str]:
    return {
        rel: html.unescape(href)
        for rel, href in re.findall(r'rel="(next|prev)" href="([^"]+)"', page)
    }


def entries(page: str) -> list[int]:
    found = re.findall(r'class="list-group-item[^"]*" id="user-(\d+)"', page)
    return [int(user_id) for user_id in found]


@pytest.mark.parametrize("which", ["followers", "following"])
def test_list_pages_link_both_ways_and_stay_stable_while_someone_follows(make_app, which):
    app = make_app(PER_PAGE=2)
    star = create_user(app)
    others = [create_user(app, email=f"a{i}@example.com", first_name=f"A{i}") for i in range(5)]
    # Five follows a minute apart; the two newest share their minute (the id breaks the tie).
    times = [START, START + timedelta(minutes=1), START + timedelta(minutes=2),
             START + timedelta(minutes=3), START + timedelta(minutes=3)]  # fmt: skip
    pairs = [(o, star) if which == "followers" else (star, o) for o in others]
    add_follows(app, [(*pair, at) for pair, at in zip(pairs, times, strict=True)])
    newest_first = [others[4], others[3], others[2], others[1], others[0]]
    client = app.test_client()
    AuthActions(client).login()

    path = f"/users/{star}/{which}/"
    first = client.get(path).get_data(as_text=True)
    assert entries(first) == newest_first[:2] and set(links(first)) == {"next"}
    # Someone new appears at the top of the list while the first page is being read.
    newcomer = create_user(app, email="new@example.com", first_name="New")
    pair = (newcomer, star) if which == "followers" else (star, newcomer)
    add_follows(app, [(*pair, START + timedelta(hours=1))])
    second = client.get(links(first)["next"]).get_data(as_text=True)
    assert entries(second) == newest_first[2:4]  # nothing repeated, nothing skipped
    assert set(links(second)) == {"next", "prev"}
    third = client.get(links(second)["next"]).get_data(as_text=True)
    assert entries(third) == newest_first[4:] and set(links(third)) == {"prev"}
    back = client.get(links(third)["prev"]).get_data(as_text=True)
    assert entries(back) == newest_first[2:4]
    top = client.get(links(back)["prev"]).get_data(as_text=True)
    assert entries(top) == newest_first[:2] and set(links(top)) == {"next", "prev"}
    newest = client.get(links(top)["prev"]).get_data(as_text=True)
    assert entries(newest) == [newcomer] and set(links(newest)) == {"next"}
    badge = f'id="tab-{which}">{which.capitalize()} <span class="badge rounded-pill'
    assert re.search(re.escape(badge) + r'[^>]*>6<', newest)


@pytest.mark.parametrize("which", ["followers", "following"])
@pytest.mark.parametrize(
    "query",
    ["before=abc", "before=-1", "before=1", "after=1.x", "before=1.1&after=1.2",
     "before=99999999999999999999.1", "after=1.99999999999999999999", "before=%C2%B2.1",
     "before="],
)  # fmt: skip
def test_malformed_page_parameters_are_404(client, auth, analysts, which, query):
    auth.login()
    assert client.get(f"/users/{analysts[1]}/{which}/?{query}").status_code == 404


fuzz_settings = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
key_text = st.one_of(
    st.text(max_size=60),
    st.from_regex(r"-?[0-9]{1,20}\.-?[0-9]{1,12}", fullmatch=True),
    st.builds(lambda m, i: f"{m}.{i}", st.integers(), st.integers()),
    st.sampled_from(["", ".", "1.", ".1", "0.0", "1e9.1", "\uff11.\uff11", "1.1\x00", "9" * 400]),
)


@fuzz_settings
@given(
    before=key_text,
    after=key_text,
    which=st.sampled_from(["before", "after", "both"]),
    list_name=st.sampled_from(["followers", "following"]),
)
def test_fuzzed_page_parameters_never_500(fuzz_lists, before, after, which, list_name):
    client, user_id = fuzz_lists
    query = {"before": before, "after": after}
    if which != "both":
        query = {which: query[which]}
    response = client.get(f"/users/{user_id}/{list_name}/", query_string=query)
    assert response.status_code in (200, 404)


@fuzz_settings
@given(segment=st.one_of(st.integers(), st.text(max_size=40)))
def test_fuzzed_user_ids_never_500(fuzz_lists, segment):
    client, _user_id = fuzz_lists
    quoted = quote(str(segment), safe="")
    for list_name in ("followers", "following"):
        response = client.get(f"/users/{quoted}/{list_name}/")
        assert response.status_code in (200, 308, 404)
    token = csrf_token_from(client.get("/settings/profile/"))
    for action in ("follow", "unfollow"):
        response = client.post(f"/users/{quoted}/{action}", data={"csrf_token": token})
        assert response.status_code in (302, 308, 404, 405)


@pytest.fixture
def fuzz_lists(make_app):
    """A logged-in client and a user with a follower and a followed, for the fuzz test."""
    app = make_app(RATELIMIT_ENABLED=False)
    star = create_user(app)
    other = create_user(app, email="other@example.com")
    add_follows(app, [(other, star, START), (star, other, START)])
    client = app.test_client()
    AuthActions(client).login()
    return client, star


# --- hostile names ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_are_text_in_the_lists_and_on_the_profile(app, client, auth, analysts, name):
    _ada, grace, _alan = analysts
    villain = create_user(app, email="villain@example.com", first_name=name, last_name=name)
    add_follows(app, [(villain, grace, START), (grace, villain, START)])
    auth.login()
    escaped = html.escape(name, quote=False)
    for path in (f"/users/{grace}/followers/", f"/users/{grace}/following/",
                 f"/users/{villain}/", f"/users/{villain}/followers/"):  # fmt: skip
        page = client.get(path).get_data(as_text=True)
        assert name not in page, path
        assert escaped in page or html.escape(name) in page, path
    press(client, f"/users/{villain}/", f"/users/{villain}/follow")
    page = profile_of(client, villain)  # the flash message names the villain too
    assert name not in page and f"You are following {html.escape(name)}" in page


# --- deleting an account ----------------------------------------------------------------------


def test_deleting_an_account_removes_its_follows_both_ways(app, client, auth, analysts):
    ada, grace, alan = analysts
    add_follows(app, [(ada, grace, START), (grace, ada, START), (alan, ada, START),
                      (alan, grace, START)])  # fmt: skip
    viewer = app.test_client()
    AuthActions(viewer).login(email="alan@example.com")
    assert 'id="profile-followers">2<' in profile_of(viewer, grace)
    assert 'id="profile-following">2<' in profile_of(viewer, alan)

    auth.login()
    response = submit(client, "/settings/delete/", {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert follow_rows(app) == [(alan, grace)]
    page = profile_of(viewer, grace)
    assert 'id="profile-followers">1<' in page and 'id="profile-following">0<' in page
    assert 'id="profile-following">1<' in profile_of(viewer, alan)
    assert f'id="user-{ada}"' not in viewer.get(f"/users/{grace}/followers/").get_data(
        as_text=True
    )
    assert viewer.get(f"/users/{ada}/followers/").status_code == 404
