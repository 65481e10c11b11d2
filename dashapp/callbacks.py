"""Dash callbacks, registered on the app instance (never the global `dash.callback`)."""

from __future__ import annotations

import dash
from dash import Input, Output
from flask_login import current_user


def register_callbacks(dash_app: dash.Dash) -> None:
    """Attach every callback to `dash_app`."""

    @dash_app.callback(Output("welcome", "children"), Input("url", "search"))
    def greet(_search):
        return f"Welcome, {current_user.first_name}."
