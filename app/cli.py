"""`flask users create`, `flask users reset-password` and `flask users list`: accounts made,
passwords set and accounts listed by an operator (e.g. when registration is off, or the site sends
no e-mail)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import User
from app.passwords import hash_password

users_cli = AppGroup("users", help="Manage user accounts.")


def read_password(password_stdin: bool) -> str:
    """The new password: the first line of standard input, or asked for twice."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def fail_with_errors(form) -> None:
    """Print a form's errors as `field: message` lines and exit 1."""
    for field, errors in form.errors.items():
        for error in errors:
            click.echo(f"{field}: {error}", err=True)
    raise SystemExit(1)


@users_cli.command("create")
@click.option("--email", required=True, help="E-mail address (the login).")
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of prompting.",
)
def create_user(email: str, first_name: str, last_name: str, password_stdin: bool) -> None:
    """Create a user, checked by the same rules as the registration form."""
    from app.auth.forms import RegistrationForm

    password = read_password(password_stdin)
    form = RegistrationForm(
        formdata=MultiDict(
            {
                "email": email,
                "first_name": first_name,
                "last_name": last_name,
                "password": password,
                "password2": password,
            }
        ),
        meta={"csrf": False},
    )
    if not form.validate():
        fail_with_errors(form)
    user = User(
        email=form.email.data,
        first_name=form.first_name.data,
        last_name=form.last_name.data,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created user {user.email} (id {user.id}).")


@users_cli.command("reset-password")
@click.argument("email")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of prompting.",
)
def reset_password(email: str, password_stdin: bool) -> None:
    """Set a new password for EMAIL's account, by the registration form's rules; every session
    and remember cookie of the account ends, as after a reset by e-mail."""
    from app.accounts.forms import ResetPasswordForm
    from app.auth.forms import normalise_email

    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        click.echo(f"No account uses {email!r}.", err=True)
        raise SystemExit(1)
    password = read_password(password_stdin)
    form = ResetPasswordForm(
        formdata=MultiDict({"password": password, "password2": password}), meta={"csrf": False}
    )
    if not form.validate():
        fail_with_errors(form)
    user.password_hash = hash_password(password)
    user.rotate_session_token()
    db.session.commit()
    click.echo(f"Set a new password for {user.email} (id {user.id}); every session was ended.")


def listed_time(moment) -> str:
    """A time as `users list` prints it: to the minute in UTC, or "never"."""
    from app.humanize import exact_time

    return exact_time(moment) or "never"


@users_cli.command("list")
def list_users() -> None:
    """Every account, by id: id, e-mail, name, created, last seen (read in pages of 500, so a
    large table is never held in memory)."""
    columns = (User.id, User.email, User.first_name, User.last_name, User.created_at,
               User.last_seen_at)  # fmt: skip
    rows = db.session.execute(select(*columns).order_by(User.id).execution_options(yield_per=500))
    click.echo("id\temail\tname\tcreated\tlast seen")
    count = 0
    for row in rows:
        count += 1
        name = f"{row.first_name} {row.last_name}"
        click.echo(
            f"{row.id}\t{row.email}\t{name}\t{listed_time(row.created_at)}\t"
            f"{listed_time(row.last_seen_at)}"
        )
    click.echo(f"{count} user(s).", err=True)
