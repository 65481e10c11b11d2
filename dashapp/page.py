"""The dashboard's HTML page, rendered by the site's own Jinja template.

Dash normally fills a fixed `index_string`; here `interpolate_index` hands the pieces Dash made
(its scripts, config and entry point) to `templates/dashboard.html`, per request, so that the
page has the same <head> and the same navbar (user menu, CSRF-protected logout form, theme
switch) as every Flask page. Dash's inline renderer script is passed through unchanged, so the
CSP hash computed from it still matches.
"""

from __future__ import annotations

import dash
from flask import render_template


class SitePageDash(dash.Dash):
    """A Dash app whose page is `templates/dashboard.html`."""

    def interpolate_index(self, **pieces: str) -> str:
        """The page around Dash's `pieces` (app_entry, config, scripts, renderer, css, title…).

        They are handed over as one `dash` mapping: spread out, Dash's `config` would hide
        Flask's `config` from the navbar.
        """
        return render_template("dashboard.html", dash=pieces, title=pieces.get("title"))
