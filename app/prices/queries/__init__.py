"""The price query layer: the dashboard reads prices only through these functions.

The database does the aggregation: a series never returns more than `max_points` rows per ticker,
whatever the range and however many rows are stored, so a chart's cost does not grow with the
table. Every value from the caller is a bound parameter; tickers follow the one ticker rule
(`app.prices.tickers`). Ranges are half-open, `start <= time < end`; a `date` end includes that
whole day; None means unbounded; every range is clipped to the days FIRST_DAY to LAST_DAY, so
any date or datetime at all is a valid bound. Unknown tickers and empty ranges give empty
results, never errors.

- `arguments`: tickers, time ranges and the connection, as every query takes them;
- `listing`: `list_tickers`, the tickers that have prices;
- `series`: `price_series`, bars or buckets of each ticker over a range;
- `summaries`: `summary`, return, volatility, drawdown and volume over a range.
"""

from app.prices.queries.arguments import FIRST_DAY, LAST_DAY, as_naive_utc, time_range
from app.prices.queries.listing import TickerInfo, list_tickers
from app.prices.queries.series import (
    MAX_POINTS,
    NICE_WIDTHS,
    ORIGIN,
    PriceSeries,
    bucket_width,
    price_series,
)
from app.prices.queries.summaries import TickerSummary, summary

__all__ = [
    "FIRST_DAY",
    "LAST_DAY",
    "MAX_POINTS",
    "NICE_WIDTHS",
    "ORIGIN",
    "PriceSeries",
    "TickerInfo",
    "TickerSummary",
    "as_naive_utc",
    "bucket_width",
    "list_tickers",
    "price_series",
    "summary",
    "time_range",
]
