"""Technical indicators of a series of closes, and performance relative to a benchmark.

Pure functions from float arrays (NaN for gaps) to float arrays of the same length, with pandas
for the rolling and exponential windows. Every exponential mean here is pandas'
`ewm(..., adjust=False)`: seeded with the first value, then y[t] = (1 - alpha) * y[t-1] +
alpha * x[t]. Such a mean never forgets its seed entirely, which is why the chart reads
WARM_UP_BARS bars before the first one it shows (dashapp.callbacks.lookback_start): after them,
what is left of the seed is below 1% of a value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

INDICATORS = ("rsi", "macd", "bollinger")  # the order URLs list them in
RSI_PERIOD = 14
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
BOLLINGER_PERIOD, BOLLINGER_WIDTH = 20, 2.0
# Bars to read before the first bar shown. Bollinger is a plain rolling window: exact after its
# 20 bars. RSI's means have alpha 1/14 and start from a single change, which can be several
# times the mean: (13/14)**112 < 0.03% of it is left after 14 x 8 bars (after 14 x 5, on the
# real AAPL closes, the RSI was still 1% off). MACD chains two means: the slow EMA (alpha 2/27)
# and then the signal (alpha 2/10) on the MACD line, so (26 + 9) x 3 = 105 bars leave
# (25/27)**105 < 0.1% of the slow EMA's seed and, after its own 79 bars, 0.8**79 of the
# signal's.
WARM_UP_BARS = {
    "rsi": RSI_PERIOD * 8,
    "macd": (MACD_SLOW + MACD_SIGNAL) * 3,
    "bollinger": BOLLINGER_PERIOD,
}


@dataclass(frozen=True)
class Macd:
    """The MACD line (fast EMA minus slow EMA), its signal line and their difference."""

    line: np.ndarray
    signal: np.ndarray
    histogram: np.ndarray


@dataclass(frozen=True)
class Bands:
    """Bollinger bands: the moving average and the bands above and below it."""

    middle: np.ndarray
    upper: np.ndarray
    lower: np.ndarray


def rsi(closes: np.ndarray, period: int = RSI_PERIOD) -> np.ndarray:
    """Wilder's Relative Strength Index, 0 to 100: 100 - 100 / (1 + mean gain / mean loss).

    Gains and losses are the bar-to-bar changes of the close (a gain's loss is 0 and the other
    way round); their means are Wilder's smoothing, an exponential mean with alpha = 1/period
    (`ewm(alpha=1/period, adjust=False)`), seeded with the first change rather than the simple
    mean of the first `period` changes that Wilder's paper uses: the warm-up bars make the two
    agree. NaN until `period` changes are in; 100 when there was no loss at all.
    """
    change = np.diff(np.asarray(closes, dtype="float64"), prepend=np.nan)
    gain = ewm_mean(np.maximum(change, 0), alpha=1 / period, min_periods=period)
    loss = ewm_mean(np.maximum(-change, 0), alpha=1 / period, min_periods=period)
    # A zero loss gives +inf, hence 100; no change at all (0 / 0) stays NaN.
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100 - 100 / (1 + gain / loss)


def ewm_mean(values: np.ndarray, alpha: float, min_periods: int) -> np.ndarray:
    """pandas' `ewm(alpha=alpha, adjust=False, min_periods=min_periods).mean()` of `values`.

    Only the window is pandas': the arithmetic around it is numpy's, which costs a third of
    pandas' per operation on a chart's few thousand bars (see docs/benchmarks.md).
    """
    series = pd.Series(values, dtype="float64", copy=False)
    return series.ewm(alpha=alpha, adjust=False, min_periods=min_periods).mean().to_numpy()


def ema(values: np.ndarray, span: int) -> np.ndarray:
    """The exponential mean with alpha = 2 / (span + 1), NaN until `span` values are in."""
    return ewm_mean(values, alpha=2 / (span + 1), min_periods=span)


def macd(
    closes: np.ndarray, fast: int = MACD_FAST, slow: int = MACD_SLOW, signal: int = MACD_SIGNAL
) -> Macd:
    """MACD 12/26/9: EMA12 - EMA26 of the closes, its EMA9 (the signal, seeded with the first
    MACD value, bar 26) and the histogram, MACD - signal."""
    closes = np.asarray(closes, dtype="float64")
    line = ema(closes, fast) - ema(closes, slow)
    signal_line = ema(line, signal)
    return Macd(line, signal_line, line - signal_line)


def bollinger(
    closes: np.ndarray, period: int = BOLLINGER_PERIOD, width: float = BOLLINGER_WIDTH
) -> Bands:
    """Bollinger bands 20/2: the 20-bar mean, plus and minus twice the 20-bar standard deviation.

    The deviation is the population one (ddof=0, dividing by 20), as John Bollinger defines
    the bands, not pandas' default sample deviation (ddof=1, which would make them 2.6% wider).
    NaN until 20 bars are in, and for a window with a gap.
    """
    window = pd.Series(closes, dtype="float64").rolling(period)
    middle = window.mean().to_numpy()
    deviation = window.std(ddof=0).to_numpy()
    return Bands(middle, middle + width * deviation, middle - width * deviation)


def aligned(times: np.ndarray, other_times: np.ndarray, other_values: np.ndarray) -> np.ndarray:
    """`other_values` at each of `times` (both time arrays ascending), NaN where `other_times`
    has no bar at exactly that time: bars are compared with bars of the same bucket only."""
    result = np.full(len(times), np.nan)
    if not len(other_times):
        return result
    places = np.searchsorted(other_times, times).clip(max=len(other_times) - 1)
    same = other_times[places] == times
    result[same] = other_values[places[same]]
    return result


def relative_performance(
    closes: np.ndarray, benchmark: np.ndarray, shown: np.ndarray
) -> np.ndarray:
    """Performance relative to the benchmark in %, (close / close0) / (bench / bench0) * 100 -
    100, where bar 0 is the first bar among `shown` that both have (a usable, non-zero close).

    `benchmark` is the benchmark's close at each bar (NaN where it has none, see `aligned`);
    the result is NaN on those bars, and everywhere when the two have no bar in common.
    """
    ratio = np.full(len(closes), np.nan)
    usable = np.isfinite(closes) & np.isfinite(benchmark) & (closes != 0) & (benchmark != 0)
    ratio[usable] = closes[usable] / benchmark[usable]
    base = np.flatnonzero(usable & shown)
    if not len(base):
        return np.full(len(closes), np.nan)
    return ratio / ratio[base[0]] * 100 - 100
