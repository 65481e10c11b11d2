"""Account forms. Every length limit matches its database column (see app.models)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from app.extensions import db
from app.models import EMAIL_MAX, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, User


def normalise_email(value: str | None) -> str | None:
    """E-mail addresses are stored and compared stripped and lower-case."""
    return value.strip().lower() if isinstance(value, str) else value


def strip(value: str | None) -> str | None:
    """Remove surrounding blanks that users paste along with a name."""
    return value.strip() if isinstance(value, str) else value


def printable(form, field) -> None:
    """Refuse control characters: PostgreSQL cannot store NUL and none belongs in a name."""
    if field.data and any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in field.data):
        raise ValidationError("Please remove control characters.")


def email_field() -> EmailField:
    """The e-mail field shared by both forms; its length is checked before its syntax."""
    return EmailField(
        "E-mail",
        filters=[normalise_email],
        validators=[
            DataRequired(),
            Length(max=EMAIL_MAX),
            printable,
            Email(message="Please enter a valid e-mail address."),
        ],
        render_kw={"autocomplete": "email", "maxlength": EMAIL_MAX},
    )


def name_fields() -> tuple[StringField, StringField]:
    """First and last name, as the registration form and the profile editor ask for them."""
    first_name = StringField(
        "First name",
        filters=[strip],
        validators=[DataRequired(), Length(max=NAME_MAX), printable],
        render_kw={"autocomplete": "given-name", "maxlength": NAME_MAX},
    )
    last_name = StringField(
        "Last name",
        filters=[strip],
        validators=[DataRequired(), Length(max=NAME_MAX), printable],
        render_kw={"autocomplete": "family-name", "maxlength": NAME_MAX},
    )
    return first_name, last_name


def new_password_fields(label: str = "New password") -> tuple[PasswordField, PasswordField]:
    """A new password and its repetition: the rules of registration, change and reset alike."""
    password = PasswordField(
        label,
        validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)],
        render_kw={"autocomplete": "new-password", "maxlength": PASSWORD_MAX},
    )
    password2 = PasswordField(
        f"Repeat {label[0].lower()}{label[1:]}",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
        render_kw={"autocomplete": "new-password", "maxlength": PASSWORD_MAX},
    )
    return password, password2


class RegistrationForm(FlaskForm):
    """Create an account."""

    email = email_field()
    first_name, last_name = name_fields()
    password, password2 = new_password_fields("Password")
    submit = SubmitField("Register")

    def validate_email(self, field) -> None:
        """An address can hold only one account (asked only of an otherwise valid address)."""
        if field.errors:
            return
        if db.session.scalar(select(User.id).where(User.email == field.data)) is not None:
            raise ValidationError("This e-mail address is already registered.")


class LoginForm(FlaskForm):
    """Log in with e-mail and password."""

    email = email_field()
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password", "maxlength": PASSWORD_MAX},
    )
    remember_me = BooleanField("Remember me for a day")
    submit = SubmitField("Log in")


class LogoutForm(FlaskForm):
    """A bare form: logging out is a POST carrying a CSRF token."""

    submit = SubmitField("Log out")
