"""The dashboard's layout, built per page load so it can greet the logged-in user."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html
from flask_login import current_user


def user_name() -> str:
    """The logged-in user's name; empty when Dash builds the layout outside a request."""
    return getattr(current_user, "full_name", "") or ""


def navbar() -> dbc.Navbar:
    """The site's navbar, as on the Flask pages."""
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("stockdash", href="/"),
                dbc.Nav(
                    [
                        dbc.NavItem(dbc.NavLink(user_name(), disabled=True, id="nav-user")),
                        dbc.NavItem(dbc.NavLink("Log out", href="/logout/", external_link=True)),
                    ],
                    className="ms-auto",
                ),
            ]
        ),
        color="dark",
        dark=True,
        className="mb-4",
    )


def serve_layout() -> html.Div:
    """The page: navbar, a greeting filled by a callback, and the chart area."""
    return html.Div(
        [
            dcc.Location(id="url", refresh=False),
            navbar(),
            dbc.Container(
                [
                    html.H1("Dashboard", className="h3"),
                    html.P(id="welcome", className="lead"),
                ]
            ),
        ]
    )
