"""The Dash app mounted at /dash/ inside the Flask server."""

from __future__ import annotations

import functools
import json

import dash
from dash.exceptions import DependencyException
from flask import Flask, abort, jsonify, redirect, request, url_for
from flask_login import current_user

from app.errors import render_error
from app.security.headers import allow_inline_scripts
from dashapp.callbacks import register_callbacks
from dashapp.compression import init_static_compression
from dashapp.layout import serve_layout
from dashapp.page import SitePageDash

URL_PREFIX = "/dash/"
CALLBACK_PATH = URL_PREFIX + "_dash-update-component"


def init_dashboard(server: Flask) -> dash.Dash:
    """Create the Dash app on `server`, behind login, and return it."""
    protect_dashboard(server, URL_PREFIX)
    # The page's <head> (Bootstrap, the site's CSS, the theme script) is the site's own: see
    # dashapp.page and templates/dashboard.html.
    dash_app = SitePageDash(
        __name__,
        server=server,
        url_base_pathname=URL_PREFIX,
        serve_locally=True,
        compress=True,
        title="Dashboard",
        update_title=None,
    )
    init_static_compression(server)
    answer_missing_files_404(server)
    dash_app.layout = serve_layout
    register_callbacks(dash_app)
    server.extensions["dash_app"] = dash_app
    check_callback_payloads(server, dash_app)
    # Dash writes a few inline <script>s into its page; the CSP allows exactly those by hash.
    allow_inline_scripts(server, list(dash_app.csp_hashes()))
    # `/dash` (no slash) is not a Dash route; send it where the user meant to go.
    server.add_url_rule(
        URL_PREFIX.rstrip("/"), "dashboard_redirect", lambda: redirect(URL_PREFIX, code=308)
    )
    return dash_app


def protect_dashboard(server: Flask, prefix: str) -> None:
    """One check on the path guards every route under `prefix`, whatever Dash adds later.

    Anonymous users asking for the page itself are sent to log in and brought back to the same
    view; anything else (layout, callbacks, component suites, assets) answers 401 JSON, because a
    redirect to an HTML form is of no use to the Dash renderer's fetch calls. A browser
    navigating to one of those routes (it asks for HTML) is sent to log in as well, rather than
    shown raw JSON.

    Dash answers every other path under `prefix` with its page (a catch-all route, for
    multi-page apps); the dashboard is one page, so those answer the site's 404, logged in or
    not (a fetch from a logged-out client still gets the 401).
    """
    catch_all = prefix + "<path:path>"

    @server.before_request
    def require_login_for_dashboard():
        if not request.path.startswith(prefix):
            return None
        unknown_path = request.url_rule is not None and request.url_rule.rule == catch_all
        navigation = request.method in ("GET", "HEAD") and wants_html()
        if unknown_path and (navigation or current_user.is_authenticated):
            return render_error(404)
        if current_user.is_authenticated:
            return None
        if navigation or (request.path == prefix and request.method in ("GET", "HEAD")):
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        response = jsonify(error="authentication required", login=url_for("auth.login"))
        response.status_code = 401
        return response


def wants_html() -> bool:
    """Whether the client prefers an HTML page to JSON: a browser's navigation does (Accept:
    text/html,...); the renderer's fetches ask for JSON and scripts for */*, which ties and
    so picks JSON."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def answer_missing_files_404(server: Flask) -> None:
    """A component-suite file that Dash does not serve answers 404, not 500.

    Dash raises for a path it never registered (DependencyException: an unknown package or
    file, or a path with `..`) and for a registered one its package does not ship
    (FileNotFoundError: the renderer's `.map` files, for one).
    """
    suites = URL_PREFIX + "_dash-component-suites/"
    (endpoint,) = {rule.endpoint for rule in server.url_map.iter_rules()
                   if rule.rule.startswith(suites)}
    serve = server.view_functions[endpoint]

    @functools.wraps(serve)
    def serve_or_404(**path):
        try:
            return serve(**path)
        except (DependencyException, FileNotFoundError):
            abort(404)

    server.view_functions[endpoint] = serve_or_404


def check_callback_payloads(server: Flask, dash_app: dash.Dash) -> None:
    """Answer malformed callback requests 400 before Dash reads them.

    Dash trusts the renderer: a body that is not the expected JSON, or names dependencies other
    than the callback's, raises inside Dash (or in a callback handed the wrong values) and would
    become a 500.
    """

    @server.before_request
    def validate_callback_payload():
        if request.path != CALLBACK_PATH or request.method != "POST":
            return None
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # nesting deeper than Python's parser goes
            body = None
        problem = callback_payload_problem(body, dash_app.callback_map)
        if problem is None:
            return None
        response = jsonify(error=f"bad callback request: {problem}")
        response.status_code = 400
        return response


def callback_payload_problem(body, callback_map) -> str | None:
    """What is wrong with a callback request body, or None if Dash can handle it.

    The body must be what the renderer sends for one server-side callback: its `output` key;
    `outputs`, `inputs` and `state` naming exactly that callback's dependencies, in order (a
    pattern-matching one as a list of entries whose ids fit the pattern); and `changedPropIds`
    naming inputs among those sent. Values are not checked: the callbacks take any value.
    """
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    output = body.get("output")
    # A clientside callback is in the map too, without a function for the server to run.
    if not isinstance(output, str) or "callback" not in callback_map.get(output, {}):
        return "unknown output"
    callback = callback_map[output]
    if not outputs_match(body.get("outputs"), output):
        return "outputs do not match the callback's"
    for key in ("inputs", "state"):
        if not dependencies_match(body.get(key, []), callback[key]):
            return f"{key} do not match the callback's"
    changed = body.get("changedPropIds", [])
    inputs = body.get("inputs")
    if not isinstance(changed, list) or not all(names_input(c, inputs) for c in changed):
        return "changedPropIds must name inputs of the callback"
    return None


def outputs_match(outputs, key: str) -> bool:
    """Whether `outputs` names the outputs of the callback-map `key`: one `id.prop`, or
    several as `..id1.prop1...id2.prop2..` (Dash's format), sent as one entry or a list."""
    if not key.startswith(".."):
        return entry_matches(outputs, *key.rsplit(".", 1))
    declared = [part.rsplit(".", 1) for part in key[2:-2].split("...")]
    return isinstance(outputs, list) and len(outputs) == len(declared) and all(
        entry_matches(sent, component, prop)
        for sent, (component, prop) in zip(outputs, declared, strict=True)
    )


def dependencies_match(sent, declared: list[dict]) -> bool:
    """Whether `sent` has one entry per declared input (or state), each naming it."""
    return isinstance(sent, list) and len(sent) == len(declared) and all(
        entry_matches(entry, each["id"], each["property"])
        for entry, each in zip(sent, declared, strict=True)
    )


def entry_matches(sent, component: str, prop: str) -> bool:
    """Whether `sent` stands for the dependency `component`.`prop`: an {id, property} entry,
    or for a pattern-matching id (JSON with wildcards) a list of entries whose ids fit it."""
    pattern = wildcard_pattern(component)
    if pattern is None:
        return isinstance(sent, dict) and sent.get("id") == component and sent.get(
            "property"
        ) == prop
    return isinstance(sent, list) and all(
        isinstance(entry, dict) and entry.get("property") == prop and fits(entry.get("id"), pattern)
        for entry in sent
    )


@functools.lru_cache(maxsize=64)
def wildcard_pattern(component: str) -> dict | None:
    """The id pattern of a pattern-matching dependency (as the callback map writes it), or
    None for a plain id."""
    return json.loads(component) if component.startswith("{") else None


def fits(component, pattern: dict) -> bool:
    """Whether the concrete id `component` fits `pattern`: the same keys, the same values but
    where the pattern has a wildcard (["ALL"], ["MATCH"]...), and there a plain value."""
    if not isinstance(component, dict) or component.keys() != pattern.keys():
        return False
    return all(
        isinstance(component[name], str | int | float)
        if isinstance(wanted, list)
        else component[name] == wanted
        for name, wanted in pattern.items()
    )


def names_input(changed, inputs: list) -> bool:
    """Whether the changed prop id `changed` (`id.prop`, a pattern-matching id as JSON) names
    one of the `inputs` sent."""
    if not isinstance(changed, str):
        return False
    component, _, prop = changed.rpartition(".")
    if component.startswith("{"):
        try:
            component = json.loads(component)
        except (ValueError, RecursionError):
            return False
    entries = [e for item in inputs for e in (item if isinstance(item, list) else [item])]
    return any(e.get("id") == component and e.get("property") == prop for e in entries)
