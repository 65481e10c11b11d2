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

# The dcc chunks the dashboard's first view is drawn with. The dcc bundle asks for them only
# once the layout has arrived, and the renderer holds the first callbacks back until they are
# in; preloaded from the page's <head>, they come in with the page's other scripts instead.
FIRST_VIEW_CHUNKS = ("async-graph.js", "async-dropdown.js", "async-datepicker.js")


class SitePageDash(dash.Dash):
    """A Dash app whose page is `templates/dashboard.html`."""

    def interpolate_index(self, **pieces: str) -> str:
        """The page around Dash's `pieces` (app_entry, config, scripts, renderer, css, title…),
        plus `preload`, the <link rel=preload> tags of FIRST_VIEW_CHUNKS.

        They are handed over as one `dash` mapping: spread out, Dash's `config` would hide
        Flask's `config` from the navbar.
        """
        return render_template("dashboard.html",
                               dash={**pieces, "preload": "".join(self.preload_tags())},
                               title=pieces.get("title"))

    def preload_tags(self) -> list[str]:
        """The <link rel=preload> tags of FIRST_VIEW_CHUNKS."""
        suite = f"{self.config.requests_pathname_prefix}_dash-component-suites/dash/dcc/"
        return [f'<link rel="preload" as="script" href="{suite}{chunk}">'
                for chunk in FIRST_VIEW_CHUNKS]
