"""`flask users list` and the constituents layouts `flask prices tickers` accepts, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from app.extensions import db
from app.models import User
from tests.support.users import create_user


def test_users_list_prints_every_account_exactly(app, runner):
    assert runner.invoke(args=["users", "list"]).stdout == "id\temail\tname\tcreated\tlast seen\n"
    first = create_user(app)
    second = create_user(app, email="grace@example.com", first_name="Grace", last_name="Hopper")
    with app.app_context():
        user = db.session.get(User, second)
        user.created_at = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
        user.last_seen_at = datetime(2026, 2, 3, 4, 5, tzinfo=UTC)
        db.session.commit()
        created = db.session.get(User, first).created_at
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[1] == (
        f"{first}\tada@example.com\tAda Lovelace\t"
        f"{created.replace(tzinfo=UTC) if created.tzinfo is None else created:%Y-%m-%d %H:%M} UTC"
        "\tnever"
    )
    assert lines[2] == (
        f"{second}\tgrace@example.com\tGrace Hopper\t2026-01-02 03:04 UTC\t2026-02-03 04:05 UTC"
    )
    assert len(lines) == 3 and result.stderr == "2 user(s).\n"


def names(app):
    with app.app_context():
        return db.session.execute(
            text("SELECT ticker, name, industry FROM stock_tickers ORDER BY ticker")
        ).all()


def test_tickers_accepts_the_public_constituents_layouts(app, runner, tmp_path):
    wikipedia = tmp_path / "sp500.csv"
    wikipedia.write_text(
        "Symbol,Security,GICS Sector,GICS Sub-Industry,Headquarters Location,Date added,CIK\n"
        'MMM,3M,Industrials,Industrial Conglomerates,"Saint Paul, Minnesota",1957-03-04,66740\n'
        'BRK.B,Berkshire Hathaway,Financials,Multi-Sector Holdings,"Omaha, Nebraska",,1067983\n'
    )
    nasdaq = tmp_path / "nasdaq.csv"
    nasdaq.write_text("Symbol,Security Name,Market Category\nAAPL,Apple Inc. - Common Stock,Q\n")
    screener = tmp_path / "screener.csv"
    screener.write_text("Symbol,Name,Last Sale,Sector,Industry\nXOM,Exxon,$1,Energy,Oil\n")
    for path in (wikipedia, nasdaq, screener):
        result = runner.invoke(args=["prices", "tickers", str(path)])
        assert result.exit_code == 0, result.output
    assert names(app) == [
        ("AAPL", "Apple Inc. - Common Stock", None),
        ("BRK.B", "Berkshire Hathaway", "Financials"),
        ("MMM", "3M", "Industrials"),
        ("XOM", "Exxon", "Oil"),  # a real Industry column is preferred to the Sector
    ]
