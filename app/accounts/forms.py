"""Forms of the account's settings and of the password reset. Every length limit matches its
database column (see app.models)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.auth.forms import email_field, printable, strip
from app.models import ABOUT_ME_MAX, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN


def printable_lines(form, field) -> None:
    """Like `printable`, but line breaks are allowed (an "about me" may have a few)."""
    if field.data and any(
        (ord(ch) < 0x20 and ch not in "\n\r\t") or ord(ch) == 0x7F for ch in field.data
    ):
        raise ValidationError("Please remove control characters.")


def normalise_newlines(value: str | None) -> str | None:
    """Browsers send line breaks as CRLF: store them as one character each, so that the 140
    characters the counter shows are the 140 the column holds."""
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else value


def current_password_field(label: str = "Current password") -> PasswordField:
    """The password that proves it is the account's owner asking."""
    return PasswordField(
        label,
        validators=[DataRequired(), Length(max=PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password", "maxlength": PASSWORD_MAX},
    )


def new_password_fields() -> tuple[PasswordField, PasswordField]:
    """A new password and its repetition, by the registration form's rules."""
    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)],
        render_kw={"autocomplete": "new-password", "maxlength": PASSWORD_MAX},
    )
    password2 = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
        render_kw={"autocomplete": "new-password", "maxlength": PASSWORD_MAX},
    )
    return password, password2


class ProfileForm(FlaskForm):
    """Names and "about me"."""

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
    about_me = TextAreaField(
        "About me",
        filters=[normalise_newlines],
        validators=[
            Length(max=ABOUT_ME_MAX, message=f"At most {ABOUT_ME_MAX} characters, please."),
            printable_lines,
        ],
        render_kw={"maxlength": ABOUT_ME_MAX, "rows": 3, "data-counter": "about_me-count"},
    )
    submit = SubmitField("Save")


class ChangePasswordForm(FlaskForm):
    """A new password, given the current one."""

    current_password = current_password_field()
    password, password2 = new_password_fields()
    submit = SubmitField("Change password")


class LogoutOthersForm(FlaskForm):
    """A bare form: ending the other sessions is a POST carrying a CSRF token."""

    submit = SubmitField("Log out all other sessions")


class DeleteAccountForm(FlaskForm):
    """Deleting the account, given its password."""

    password = current_password_field("Password")
    submit = SubmitField("Delete my account")


class ResetRequestForm(FlaskForm):
    """The address to send a reset link to."""

    email = email_field()
    submit = SubmitField("Send the link")


class ResetPasswordForm(FlaskForm):
    """A new password, given a valid reset link."""

    password, password2 = new_password_fields()
    submit = SubmitField("Set the new password")
