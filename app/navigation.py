"""The site's navigation, defined once.

`templates/_navbar.html` draws these items on every Flask page (through `base.html`) and on the
dashboard's page (dashapp.page renders the same partial), so both always show the same navbar.
Adding a page to the navbar or to the user menu is one line here.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask


@dataclass(frozen=True)
class NavItem:
    """A link of the navbar: what it says and the path it opens."""

    label: str
    path: str


# The navbar's links for a logged-in user; the one whose path is the page's is marked active.
MAIN_LINKS: tuple[NavItem, ...] = (NavItem("Dashboard", "/dash/"),)
# The user menu's links, above its "Log out" button; e.g. NavItem("Profile", "/profile/").
USER_MENU: tuple[NavItem, ...] = ()


def navigation_context() -> dict:
    """What the navbar partial needs besides the request and the user."""
    return {"main_links": MAIN_LINKS, "user_menu": USER_MENU}


def init_navigation(app: Flask) -> None:
    """Give every template (the dashboard's page included) the navbar's items."""
    app.context_processor(navigation_context)
