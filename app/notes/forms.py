"""The note form. Its limits are those of the `notes` columns (app.models)."""

from __future__ import annotations

from datetime import date, timedelta

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.models import NOTE_MAX, utcnow
from app.prices.tickers import TICKER_MAX, InvalidTicker, parse_ticker
from app.tickers.watchlist import ticker_exists

# The dates a note may be about: as far back as prices are imported (app.prices.importing),
# and up to tomorrow, so that an analyst ahead of UTC can write about "today" where they are.
AS_OF_FIRST = date(1900, 1, 1)


def as_of_last() -> date:
    """The latest date a note may be about: tomorrow, UTC."""
    return utcnow().date() + timedelta(days=1)


def normalise_body(value: str | None) -> str | None:
    """Line breaks as one character each (browsers send CRLF), blanks around the text removed:
    the characters the counter shows are the ones the column holds."""
    if not isinstance(value, str):
        return value
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def plain_text(form, field) -> None:
    """Refuse control characters other than the line break: they do not display, and NUL
    cannot be stored in PostgreSQL."""
    if field.data and any(
        (ord(ch) < 0x20 and ch != "\n") or 0x7F <= ord(ch) < 0xA0 for ch in field.data
    ):
        raise ValidationError("Please remove control characters (tabs and the like).")


def stored_ticker(form, field) -> None:
    """A symbol by the one ticker rule (app.prices.tickers) that is stored; normalises it."""
    try:
        field.data = parse_ticker(field.data or "")
    except InvalidTicker as reason:
        raise ValidationError(f"Please enter a ticker symbol ({reason}).") from None
    if not ticker_exists(field.data):
        raise ValidationError(f"There is no ticker {field.data}.")


def date_in_range(form, field) -> None:
    """A date from AS_OF_FIRST to tomorrow (UTC)."""
    if field.data is not None and not AS_OF_FIRST <= field.data <= as_of_last():
        raise ValidationError(f"Please choose a date from {AS_OF_FIRST} to {as_of_last()}.")


class NoteForm(FlaskForm):
    """Write a note: a ticker, the date it is about (default its last bar) and 1-280 characters.

    `next` is the page to return to (followed only when it is a path of this site).
    """

    ticker = StringField(
        "Ticker",
        validators=[DataRequired(message="Please enter a ticker."), stored_ticker],
        render_kw={
            "maxlength": TICKER_MAX,
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
            "list": "note-tickers",
        },
    )
    as_of = DateField(
        "Date",
        validators=[Optional(), date_in_range],
        format="%Y-%m-%d",
        render_kw={"min": AS_OF_FIRST.isoformat()},
    )
    body = TextAreaField(
        "Note",
        filters=[normalise_body],
        validators=[
            DataRequired(message="Please write something."),
            Length(max=NOTE_MAX, message=f"At most {NOTE_MAX} characters, please."),
            plain_text,
        ],
        render_kw={"maxlength": NOTE_MAX, "rows": 3, "data-counter": "body-count"},
    )
    next = HiddenField()
    submit = SubmitField("Post note")


def empty_note_form(next_url: str, ticker: str | None = None) -> NoteForm:
    """A fresh note form coming back to `next_url`, its ticker preset (on a ticker's page)."""
    form = NoteForm(formdata=None)
    form.ticker.data = ticker
    form.next.data = next_url
    return form
