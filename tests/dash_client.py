"""Call Dash callbacks through the Flask test client, with the JSON the browser would send."""

from __future__ import annotations

import json


def callback_key(app, *fragments: str) -> str:
    """The callback-map key (Dash's name for a callback's outputs) containing `fragments`."""
    keys = [k for k in app.extensions["dash_app"].callback_map if all(f in k for f in fragments)]
    assert len(keys) == 1, keys
    return keys[0]


def outputs_of(key: str) -> list[dict] | dict:
    """The `outputs` field for a callback-map key."""
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


def call(client, app, key: str, inputs: list, state: list | None = None, changed=None):
    """POST one callback. `inputs`/`state` hold (id, prop, value) triples, or lists of them
    for pattern-matching inputs; `changed` names the triggering (id, prop), default the first."""

    def entry(item):
        if isinstance(item, list):
            return [entry(i) for i in item]
        component, prop, value = item
        return {"id": component, "property": prop, "value": value}

    first = changed or inputs[0][:2]
    body = {
        "output": key,
        "outputs": outputs_of(key),
        "inputs": [entry(i) for i in inputs],
        "state": [entry(s) for s in state or []],
        "changedPropIds": [prop_id(*first)],
    }
    return client.post("/dash/_dash-update-component", json=body)
