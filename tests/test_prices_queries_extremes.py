"""The query layer is total: any date or datetime at all gives a result or an empty result, on
both backends, and rows stored with absurd dates (by imports from before the importer checked
them) are not served and break nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.extensions import db
from app.prices import queries
from app.prices.queries.arguments import MAX_TIME, MIN_TIME
from tests.support.data import store_prices

EAST = timezone(timedelta(hours=14))
WEST = timezone(timedelta(hours=-12))
GOOD_DAYS = [datetime(2016, 1, 4) + timedelta(days=i) for i in range(5)]
# Rows as imports before the date check could store them: year 1 and the last instants of 9999.
ABSURD_TIMES = [datetime(1, 1, 3), datetime(9999, 12, 30), datetime(9999, 12, 31, 23, 59, 59)]
# A ticker with more rows than a chart shows, at both edges of the window: it is bucketed, with
# buckets as wide as the window allows, aligned on an origin at its very first instant.
EDGE_TIMES = [MIN_TIME + timedelta(days=i) for i in range(60)] + [
    MAX_TIME - timedelta(days=i + 1) for i in range(60)
]

offsets = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59),
                        max_value=timedelta(hours=23, minutes=59))
any_bound = st.one_of(
    st.none(),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.builds(timezone, offsets)),
)


@given(start=any_bound, end=any_bound)
@example(start=None, end=date(9999, 12, 31))  # a day past the last one datetime can hold
@example(start=datetime(1, 1, 1, tzinfo=EAST), end=datetime(9999, 12, 31, 23, tzinfo=WEST))
def test_time_range_is_total_and_inside_the_window(start, end):
    low, high = queries.time_range(start, end)
    assert MIN_TIME <= low <= MAX_TIME and MIN_TIME <= high <= MAX_TIME
    assert low.tzinfo is None and high.tzinfo is None


@pytest.fixture
def absurd(app):
    """OLD: five good rows and three absurd ones; ABSURD: absurd rows only; EDGE: 120 rows at
    the window's edges. Inside an app context."""
    with app.app_context():
        store_prices("OLD", GOOD_DAYS + ABSURD_TIMES)
        store_prices("ABSURD", ABSURD_TIMES)
        store_prices("EDGE", EDGE_TIMES)
        db.session.commit()
        yield app
        db.session.remove()


BOUNDS = [
    (None, None),
    (date(1, 1, 1), date(9999, 12, 31)),
    (datetime.min, datetime.max),
    (datetime(1, 1, 1, tzinfo=EAST), datetime(9999, 12, 31, 23, 59, tzinfo=WEST)),
    (datetime(9999, 12, 31, tzinfo=WEST), None),
    (None, datetime(1, 1, 1, tzinfo=EAST)),
    (date(9999, 12, 31), date(1, 1, 1)),
    (date(1, 1, 1), date(1900, 1, 1)),
    (date(2200, 12, 31), date(9999, 12, 31)),
]


@pytest.mark.parametrize(("start", "end"), BOUNDS)
def test_any_bounds_give_a_result_never_an_error(absurd, start, end):
    series = queries.price_series(["OLD", "ABSURD", "EDGE"], start, end, max_points=50)
    summaries = queries.summary(["OLD", "ABSURD", "EDGE"], start, end)
    assert "ABSURD" not in series and "ABSURD" not in summaries
    for bars in series.values():
        assert len(bars) <= 50
        assert all(MIN_TIME <= when < MAX_TIME for when in bars.time)
    for figures in summaries.values():
        assert MIN_TIME <= figures.first_time <= figures.last_time < MAX_TIME


def test_rows_outside_the_window_are_not_served(absurd):
    listed = {info.ticker: info for info in queries.list_tickers()}
    assert "ABSURD" not in listed  # it has no prices a chart could show
    assert (listed["OLD"].first, listed["OLD"].last) == (GOOD_DAYS[0], GOOD_DAYS[-1])
    assert queries.price_series(["OLD"])["OLD"].time == GOOD_DAYS
    assert queries.summary(["OLD"])["OLD"].days == len(GOOD_DAYS)


def test_buckets_reach_both_edges_of_the_window(absurd):
    bars = queries.price_series(["EDGE"], max_points=10)["EDGE"]
    assert bars.bucket is not None and 2 <= len(bars) <= 10
    assert bars.time[0] == queries.ORIGIN == MIN_TIME
    assert sum(bars.volume) == 10 * len(EDGE_TIMES)  # every row in one bucket or another
