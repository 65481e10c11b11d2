"""The site's navigation, defined once.

`templates/_navbar.html` draws these items on every Flask page (through `base.html`) and on the
dashboard's page (dashapp.page renders the same partial), so both always show the same navbar.
Adding a page to the navbar or to the user menu is one line here.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask_login import current_user


@dataclass(frozen=True)
class NavItem:
    """A link of the navbar: what it says and the path it opens."""

    label: str
    path: str


# The navbar's links for a logged-in user; the one whose path is the page's is marked active.
MAIN_LINKS: tuple[NavItem, ...] = (
    NavItem("Dashboard", "/dash/"),
    NavItem("Tickers", "/tickers/"),
    NavItem("Explore", "/explore/"),
)
# The user menu's links, above its "Log out" button; `{user_id}` in a path is the user's id.
USER_MENU: tuple[NavItem, ...] = (
    NavItem("Profile", "/users/{user_id}/"),
    NavItem("Settings", "/settings/profile/"),
)


def navigation_context() -> dict:
    """What the navbar partial needs besides the request and the user."""
    user_menu: tuple[NavItem, ...] = ()
    if current_user.is_authenticated:
        user_menu = tuple(
            NavItem(item.label, item.path.format(user_id=current_user.id)) for item in USER_MENU
        )
    return {"main_links": MAIN_LINKS, "user_menu": user_menu}


def init_navigation(app: Flask) -> None:
    """Give every template (the dashboard's page included) the navbar's items."""
    app.context_processor(navigation_context)
