"""The helpers that tests and benchmarks share (tests/support) agree with what they stand for:
Dash's own reading of callback keys and ids, the renderer's page-load requests, and the one
setting that says where the real data file is."""

from __future__ import annotations

import json

import pytest
from dash._utils import split_callback_id, stringify_id

from app import create_app
from tests.support.apps import make_config
from tests.support.dash_client import UPDATE_URL, outputs_of, page_load_callbacks, prop_id
from tests.support.data import (
    DEFAULT_TEST_DATA,
    PROJECT_ROOT,
    TEST_DATA_VARIABLE,
    real_price_file,
)


@pytest.fixture
def callback_map(tmp_path):
    """The dashboard's callbacks, from an app that needs no database to list them."""
    app = create_app(make_config("sqlite:///" + str(tmp_path / "unused.db")))
    return app.extensions["dash_app"].callback_map


def test_callback_keys_are_read_as_dash_reads_them(callback_map):
    assert any(key.startswith("..") for key in callback_map)  # several outputs
    assert any(not key.startswith("..") for key in callback_map)  # one output
    for key in callback_map:
        assert outputs_of(key) == split_callback_id(key), key


def test_pattern_matching_ids_are_written_as_dash_writes_them(callback_map):
    ids = [
        item["id"]
        for callback in callback_map.values()
        for item in callback["inputs"] + callback["state"]
        if item["id"].startswith("{")
    ]
    assert ids, "the dashboard has pattern-matching inputs (the quick ranges)"
    for component in ids:
        wildcard = json.loads(component)
        assert prop_id(wildcard, "n_clicks") == stringify_id(wildcard) + ".n_clicks"


def test_every_page_load_request_is_answered(client, auth, user):
    auth.login()
    layout = client.get("/dash/_dash-layout").get_json()
    dependencies = client.get("/dash/_dash-dependencies").get_json()
    bodies = page_load_callbacks(layout, dependencies)
    assert bodies
    assert json.loads(bodies[0])["inputs"][0]["id"] == "url"  # the URL's callback comes first
    for body in bodies:
        response = client.post(UPDATE_URL, data=body, content_type="application/json")
        assert response.status_code in (200, 204), (body, response.get_data(as_text=True))


def test_real_data_file_defaults_to_shared_data_beside_the_project(monkeypatch):
    monkeypatch.delenv(TEST_DATA_VARIABLE, raising=False)
    assert real_price_file() == (PROJECT_ROOT / DEFAULT_TEST_DATA).resolve()
    assert real_price_file().parent.parent == PROJECT_ROOT.parent / "shared"


def test_real_data_file_follows_the_variable_from_the_project_root(monkeypatch, tmp_path):
    monkeypatch.setenv(TEST_DATA_VARIABLE, str(tmp_path / "prices.csv.gz"))
    assert real_price_file() == tmp_path / "prices.csv.gz"
    monkeypatch.setenv(TEST_DATA_VARIABLE, "data/prices.csv.gz")
    monkeypatch.chdir(tmp_path)  # a relative path does not depend on where pytest runs
    assert real_price_file() == PROJECT_ROOT / "data" / "prices.csv.gz"
