"""`flask users create`: accounts made by an operator (e.g. when registration is off)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import User
from app.passwords import hash_password

users_cli = AppGroup("users", help="Manage user accounts.")


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

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

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
        for field, errors in form.errors.items():
            for error in errors:
                click.echo(f"{field}: {error}", err=True)
        raise SystemExit(1)
    user = User(
        email=form.email.data,
        first_name=form.first_name.data,
        last_name=form.last_name.data,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created user {user.email} (id {user.id}).")
