"""Dash's callback protocol, spoken without a browser: by the tests (through the Flask test
client), the deployment rehearsal (over HTTP) and the dashboard benchmark.

A callback is named by its *key*: `id.prop` for one output, `..id1.prop1...id2.prop2..` for
several. `outputs_of()` is the one reader of that format here; `request_body()` builds what the
renderer POSTs to `/dash/_dash-update-component`.
"""

from __future__ import annotations

import base64
import json

import numpy as np

UPDATE_URL = "/dash/_dash-update-component"
# What the Dash renderer knows of a dcc.Location on page load at /dash/ with no query.
LOCATION_PROPS = {"pathname": "/dash/", "search": "", "hash": "", "href": "http://127.0.0.1/dash/"}


def callback_key(app, *fragments: str) -> str:
    """The callback-map key (Dash's name for a callback's outputs) containing `fragments`."""
    keys = [k for k in app.extensions["dash_app"].callback_map if all(f in k for f in fragments)]
    assert len(keys) == 1, keys
    return keys[0]


def outputs_of(key: str) -> list[dict] | dict:
    """The `outputs` field for a callback-map key: one {id, property} for a single output, a
    list of them for several."""
    if not key.startswith(".."):
        component, prop = key.rsplit(".", 1)
        return {"id": component, "property": prop}
    parts = key[2:-2].split("...")
    return [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True)) for part in parts]


def prop_id(component, prop: str) -> str:
    """Dash's id of a property: `id.prop`, with a dict id written as sorted JSON."""
    if isinstance(component, dict):
        component = json.dumps(component, sort_keys=True, separators=(",", ":"))
    return f"{component}.{prop}"


def request_body(key: str, inputs: list, state: list, changed: tuple) -> dict:
    """The body the renderer POSTs to run callback `key`: `inputs` and `state` are lists of
    {id, property, value} entries (a list of them for a pattern-matching input), `changed` the
    (id, prop) that triggered it."""
    return {
        "output": key,
        "outputs": outputs_of(key),
        "inputs": inputs,
        "state": state,
        "changedPropIds": [prop_id(*changed)],
    }


def call(client, app, key: str, inputs: list, state: list | None = None, changed=None):
    """POST one callback. `inputs`/`state` hold (id, prop, value) triples, or lists of them
    for pattern-matching inputs; `changed` names the triggering (id, prop), default the first."""

    def entry(item):
        if isinstance(item, list):
            return [entry(i) for i in item]
        component, prop, value = item
        return {"id": component, "property": prop, "value": value}

    first = changed or inputs[0][:2]
    body = request_body(key, [entry(i) for i in inputs], [entry(s) for s in state or []], first)
    return client.post(UPDATE_URL, json=body)


def layout_value(node, component_id: str, prop: str):
    """The value of `prop` of the component `component_id` in a Dash layout tree (None if
    unset), as the renderer would send it on page load."""
    if isinstance(node, list):
        for child in node:
            found = layout_value(child, component_id, prop)
            if found is not None:
                return found
        return None
    if not isinstance(node, dict) or "props" not in node:
        return None
    props = node["props"]
    if props.get("id") == component_id:
        if node.get("type") == "Location" and prop in LOCATION_PROPS:
            return props.get(prop, LOCATION_PROPS[prop])
        return props.get(prop)
    return layout_value(props.get("children"), component_id, prop)


def layout_props(node):
    """The props of every component in a Dash layout tree."""
    if isinstance(node, list):
        for child in node:
            yield from layout_props(child)
    elif isinstance(node, dict) and "props" in node:
        yield node["props"]
        yield from layout_props(node["props"].get("children"))


def pattern_entries(layout, item: dict) -> list[dict]:
    """What the renderer sends for a pattern-matching input or state `item` ({id, property},
    the id as the dependencies write it: JSON with ["ALL"] wildcards): one entry per component
    of the layout whose id fits the pattern."""
    pattern = json.loads(item["id"])

    def fits(component) -> bool:
        return isinstance(component, dict) and component.keys() == pattern.keys() and all(
            isinstance(wanted, list) or component[key] == wanted
            for key, wanted in pattern.items()
        )

    return [
        {"id": props["id"], "property": item["property"], "value": props.get(item["property"])}
        for props in layout_props(layout)
        if fits(props.get("id"))
    ]


def page_load_callbacks(layout: dict, dependencies: list[dict]) -> list[bytes]:
    """Request bodies of the server-side callbacks the renderer fires on page load, those
    triggered by the URL first, from the answers of `_dash-layout` and `_dash-dependencies`;
    a pattern-matching input or state lists the components of the layout that fit it, as the
    renderer sends it.

    Built from what the server declares rather than written down, so that a caller keeps
    sending a real callback of whatever the dashboard is today.
    """
    by_url, others = [], []
    for callback in dependencies:
        output = callback["output"]
        if callback.get("clientside_function") or "{" in output or not callback["inputs"]:
            continue  # browser-side or pattern-matching: nothing a plain POST can stand for

        def with_values(items):
            return [
                pattern_entries(layout, item) if item["id"].startswith("{")
                else {**item, "value": layout_value(layout, item["id"], item["property"])}
                for item in items
            ]

        inputs = with_values(callback["inputs"])
        # Triggered by its first input; a pattern of which no component is on the page yet
        # triggers nothing.
        first = inputs[0][0] if isinstance(inputs[0], list) and inputs[0] else inputs[0]
        if isinstance(first, list):
            continue
        body = request_body(
            output, inputs, with_values(callback.get("state", [])),
            (first["id"], first["property"]),
        )
        triggered_by_url = any(item["id"] == "url" for item in callback["inputs"])
        (by_url if triggered_by_url else others).append(json.dumps(body).encode())
    return by_url + others


def plotly_values(encoded) -> list:
    """The values of a Plotly array in a figure: a plain list, or Plotly's typed-array form
    (base64 binary of its dtype)."""
    if isinstance(encoded, dict):
        return np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"]).tolist()
    return list(encoded or ())


def count_points(encoded) -> int:
    """Number of values in a Plotly array."""
    return len(plotly_values(encoded))
