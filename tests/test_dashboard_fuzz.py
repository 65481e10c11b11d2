"""Generated callback payloads against every registered callback: never a 500, never an error
in the log.

Bodies are built from the app's real callback map, so a new callback is fuzzed without a line
here: well-formed ones (each input and state with values of any JSON type, nested, and values
shaped like what the dashboard reads: view stores, relayout events, summary rows, dates of any
year and zone) and broken ones (a part replaced by any JSON, dropped, or taken from another
callback; ids that do not fit; changedPropIds of any kind). One app serves every example.
`STOCKDASH_FUZZ_EXAMPLES` sets the number of examples (CI keeps the default).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.models import Note
from dashapp.layout import QUICK_RANGES, SUMMARY_COLUMNS
from dashapp.urlstate import FIELDS
from tests.support.dash_client import UPDATE_URL, outputs_of, prop_id
from tests.support.data import store_prices
from tests.support.users import AuthActions, create_user

EXAMPLES = int(os.environ.get("STOCKDASH_FUZZ_EXAMPLES", "150"))
DAYS = [datetime(2016, 1, 4) + timedelta(days=i) for i in range(30)]
ABSURD_TIMES = [datetime(1, 1, 3), datetime(9999, 12, 31, 23, 59, 59)]

# --- values --------------------------------------------------------------------------------------

# Any text, lone surrogates included (JSON can carry them; UTF-8 cannot).
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
dates = st.one_of(
    st.dates().map(str),
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),
    st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
    st.sampled_from(["0001-01-01", "9999-12-31", "9999-12-31T23:59:59-05:00",
                     "0001-01-01T00:00:00+14:00", "2016-02-30", "2016-01-05 00:00:00.5"]),
)
ticker_texts = st.sampled_from(["ACME", "OLD", "acme", "NOPE", "^GSPC", "A\ud800", "", " ", "A,B"])
query_values = st.one_of(dates, ticker_texts, any_text,
                         st.sampled_from(["line", "ohlc", "1", "0", "20,50,200", "7"]))
queries = st.lists(st.tuples(st.sampled_from([f.name for f in FIELDS]), query_values),
                   max_size=6).map(lambda pairs: "?" + "&".join(f"{k}={v}" for k, v in pairs))
atoms = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**300),
    st.floats(), any_text, dates, ticker_texts, queries,
    st.sampled_from(["light", "dark", *QUICK_RANGES, *(key for key, _ in SUMMARY_COLUMNS)]),
)
keys = st.one_of(
    any_text,
    st.sampled_from(["query", "notices", "xaxis.range", "xaxis.range[0]", "xaxis.range[1]",
                     "xaxis.autorange", "xaxis2.range", "column", "descending", "ticker",
                     *(key for key, _ in SUMMARY_COLUMNS)]),
)
json_values = st.recursive(
    atoms, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=25,
)
# Shapes the callbacks read, filled with anything.
shaped = st.one_of(
    st.fixed_dictionaries({"query": st.one_of(queries, json_values)},
                          optional={"notices": json_values}),
    st.dictionaries(st.sampled_from(["xaxis.range", "xaxis2.range"]),
                    st.lists(st.one_of(dates, json_values), min_size=2, max_size=2)),
    st.fixed_dictionaries({"xaxis.range[0]": dates, "xaxis.range[1]": dates}),
    st.lists(st.dictionaries(keys, atoms, max_size=7), max_size=4),
    st.fixed_dictionaries({"column": json_values, "descending": json_values}),
    st.lists(st.one_of(dates, json_values), min_size=2, max_size=2),
)
values = st.one_of(json_values, shaped)

# --- bodies ------------------------------------------------------------------------------------


def concrete_ids(pattern: dict):
    """Ids fitting a pattern-matching id (its wildcards filled in), mostly real ones."""
    fill = st.one_of(st.sampled_from([*QUICK_RANGES, *(key for key, _ in SUMMARY_COLUMNS)]),
                     st.integers(), any_text)
    return st.fixed_dictionaries(
        {key: fill if isinstance(wanted, list) else st.just(wanted)
         for key, wanted in pattern.items()}
    )


def dependency(spec: dict):
    """What the renderer sends for one declared input or state, with any value."""
    if spec["id"].startswith("{"):
        return st.lists(
            st.builds(lambda component, value: {"id": component, "property": spec["property"],
                                                "value": value},
                      concrete_ids(json.loads(spec["id"])), values),
            max_size=4,
        )
    return values.map(lambda value: {"id": spec["id"], "property": spec["property"],
                                     "value": value})


def changed_ids(inputs: list):
    """Prop ids naming some of `inputs`, or anything at all."""
    named = [prop_id(e["id"], e["property"])
             for item in inputs for e in (item if isinstance(item, list) else [item])]
    some = st.lists(st.sampled_from(named), max_size=2) if named else st.just([])
    return st.one_of(some, some, st.lists(any_text | st.just('{"type":.n_clicks'), max_size=2))


@st.composite
def well_formed(draw, callback_map):
    key = draw(st.sampled_from(sorted(callback_map)))
    callback = callback_map[key]
    inputs = [draw(dependency(spec)) for spec in callback["inputs"]]
    state = [draw(dependency(spec)) for spec in callback["state"]]
    return {"output": key, "outputs": outputs_of(key), "inputs": inputs, "state": state,
            "changedPropIds": draw(changed_ids(inputs))}


@st.composite
def broken(draw, callback_map):
    body = draw(well_formed(callback_map))
    part = draw(st.sampled_from(sorted(body)))
    how = draw(st.sampled_from(["replace", "drop", "other callback", "one entry"]))
    if how == "replace":
        body[part] = draw(json_values)
    elif how == "drop":
        del body[part]
    elif how == "other callback":
        body[part] = draw(well_formed(callback_map))[part]
    elif isinstance(body[part], list) and body[part]:
        index = draw(st.integers(0, len(body[part]) - 1))
        body[part][index] = draw(st.one_of(json_values, st.fixed_dictionaries(
            {"id": json_values, "property": json_values, "value": values})))
    return body


class ErrorRecords(logging.Handler):
    """Keeps every error the app logs."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def fuzzed(make_app):
    """A logged-in client of one app with good and absurd rows, notes on them (so that markers
    are drawn for any range a payload asks), and the app's error log."""
    app = make_app(RATELIMIT_ENABLED=False)
    author = create_user(app)
    with app.app_context():
        store_prices("ACME", DAYS)
        store_prices("OLD", DAYS + ABSURD_TIMES)
        db.session.add_all([
            Note(user_id=author, ticker=ticker, as_of=when.date(), body="<b>x</b> =1")
            for ticker in ("ACME", "OLD") for when in (DAYS[0], DAYS[-1], *ABSURD_TIMES)
        ])
        db.session.commit()
    errors = ErrorRecords()
    app.logger.addHandler(errors)
    client = app.test_client()
    AuthActions(client).login()
    return app, client, errors


def test_fuzzed_payloads_never_answer_500(fuzzed):
    app, client, errors = fuzzed
    callback_map = app.extensions["dash_app"].callback_map
    bodies = st.one_of(well_formed(callback_map), well_formed(callback_map),
                       broken(callback_map))

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(body=bodies)
    def post(body):
        response = client.post(UPDATE_URL, json=body)
        assert response.status_code < 500, response.get_data(as_text=True)[:300]
        assert response.status_code in (200, 204, 400), response.status_code
        assert not errors.records, errors.records[0].getMessage()

    post()
