"""Times as pages show them: "3 hours ago", with the exact time for the hover title."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

# (seconds in the unit, its name), largest first.
UNITS = (
    (365 * 86400, "year"),
    (30 * 86400, "month"),
    (7 * 86400, "week"),
    (86400, "day"),
    (3600, "hour"),
    (60, "minute"),
)
# Bar widths (see app.prices.queries.series.NICE_WIDTHS): months and years are never exact.
DURATION_UNITS = ((7 * 86400, "week"), (86400, "day"), (3600, "hour"), (60, "minute"),
                  (1, "second"))


def aware(moment: datetime) -> datetime:
    """`moment` in UTC; SQLite hands back the stored UTC times without their zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def time_ago(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago `moment` was, in its largest whole unit ("just now" under a minute)."""
    if moment is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - aware(moment)).total_seconds()
    if seconds < 60:
        return "just now"
    size, name = next((size, name) for size, name in UNITS if seconds >= size)
    count = int(seconds // size)
    return f"{count} {name}{'s' if count > 1 else ''} ago"


def duration(width: timedelta) -> str:
    """A width in its largest whole unit, from weeks down to seconds: "1 week", "3 days",
    "4 hours", "90 seconds" (a width that no larger unit divides stays in the smaller one)."""
    seconds = int(width.total_seconds())
    for size, name in DURATION_UNITS:
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {name}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def exact_time(moment: datetime | None) -> str:
    """The time to the minute, in UTC, e.g. 2026-12-02 17:59 UTC."""
    return "" if moment is None else aware(moment).strftime("%Y-%m-%d %H:%M UTC")


def long_date(moment: datetime | None) -> str:
    """The day, e.g. 2 December 2026."""
    if moment is None:
        return ""
    day = aware(moment)
    return f"{day.day} {day:%B %Y}"


def iso_time(moment: datetime | None) -> str:
    """The time for a <time datetime=...> attribute."""
    return "" if moment is None else aware(moment).isoformat(timespec="seconds")


def init_humanize(app: Flask) -> None:
    """Make them available to every template as filters."""
    app.add_template_filter(time_ago, "timeago")
    app.add_template_filter(exact_time, "exact_time")
    app.add_template_filter(iso_time, "iso_time")
    app.add_template_filter(long_date, "long_date")
