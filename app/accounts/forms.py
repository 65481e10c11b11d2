"""Forms of the account's settings and of the password reset. Every length limit matches its
database column (see app.models)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from app.auth.forms import email_field, name_fields, new_password_fields
from app.models import ABOUT_ME_MAX, PASSWORD_MAX


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


class ProfileForm(FlaskForm):
    """Names and "about me"."""

    first_name, last_name = name_fields()
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


class FollowForm(FlaskForm):
    """Following an analyst: a POST carrying a CSRF token and the page to come back to."""

    next = HiddenField()
    submit = SubmitField("Follow")


class UnfollowForm(FollowForm):
    """Stopping following an analyst (as FollowForm)."""

    submit = SubmitField("Unfollow")


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
