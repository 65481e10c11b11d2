"""The dashboard link of a note: its ticker, a window around its date."""

from __future__ import annotations

from datetime import date, timedelta

from app.prices.queries import FIRST_DAY, LAST_DAY
from dashapp.urlstate import ViewState, serialise

# How much of the chart either side of the note's date "Open chart" shows.
CHART_MARGIN = timedelta(days=90)
DASHBOARD_PATH = "/dash/"


def chart_url(ticker: str, as_of: date) -> str:
    """The dashboard at `ticker` from 90 days before `as_of` to 90 days after, kept within the
    days the dashboard serves (so the link never opens with a notice)."""
    # Compared before subtracting, so that no date near year 1 or 9999 can overflow.
    start = as_of - CHART_MARGIN if as_of >= FIRST_DAY + CHART_MARGIN else FIRST_DAY
    end = as_of + CHART_MARGIN if as_of <= LAST_DAY - CHART_MARGIN else LAST_DAY
    view = ViewState(tickers=(ticker,), start=min(start, LAST_DAY), end=max(end, FIRST_DAY))
    return DASHBOARD_PATH + serialise(view)
