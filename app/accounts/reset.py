"""Forgotten passwords: /reset-password/ sends a link, /reset-password/<token>/ uses it.

The request page answers the same whether or not the address has an account: the same
message, the same redirect, and about the same time (the e-mail is only queued, app.accounts.mail).
Requests count against RESET_RATE_LIMIT per client address and per address asked for, so the
form can neither flood someone's mailbox nor be used to ask about many addresses quickly.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_login import current_user, logout_user
from sqlalchemy import select

from app.accounts.forms import ResetPasswordForm, ResetRequestForm
from app.accounts.mail import mail_configured, send_email
from app.accounts.tokens import TokenProblem, reset_token, user_for_token
from app.auth.limits import address_key, check_and_count
from app.auth.routes import too_many_attempts
from app.extensions import db
from app.models import User
from app.passwords import hash_password

bp = Blueprint("reset", __name__)
SENT = (
    "If an account uses this address, an e-mail with a link to reset its password is on its "
    "way. The link works for {hours} hours."
)
OPERATOR_COMMAND = "flask --app wsgi users reset-password EMAIL"


def reset_link(token: str) -> str:
    """The link in the e-mail: on SITE_URL when it is set, else on the host that asked."""
    base = current_app.config.get("SITE_URL")
    if base:
        return base + url_for("reset.reset_password", token=token)
    return url_for("reset.reset_password", token=token, _external=True)


def send_reset_email(user: User) -> None:
    """Queue the e-mail with `user`'s reset link."""
    hours = current_app.config["RESET_TOKEN_HOURS"]
    body = render_template(
        "email/reset_password.txt", user=user, link=reset_link(reset_token(user)), hours=hours
    )
    send_email(user.email, "Reset your stockdash password", body)


@bp.route("/reset-password/", methods=["GET", "POST"])
def request_reset():
    """Ask for a reset link; without mail configured, say how an operator resets a password."""
    if current_user.is_authenticated:
        return redirect(url_for("accounts.change_password"))
    form = ResetRequestForm()
    configured = mail_configured()
    if configured and form.validate_on_submit():
        email = form.email.data
        attempt = check_and_count("RESET_RATE_LIMIT", [address_key(), "reset:" + email])
        if not attempt.allowed:
            return too_many_attempts(attempt, "reset")
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            send_reset_email(user)
        flash(SENT.format(hours=current_app.config["RESET_TOKEN_HOURS"]), "info")
        return redirect(url_for("auth.login"))
    return render_template(
        "auth/reset_request.html",
        form=form,
        mail_configured=configured,
        command=OPERATOR_COMMAND,
        title="Reset password",
    )


@bp.route("/reset-password/<token>/", methods=["GET", "POST"])
def reset_password(token: str):
    """Set a new password with a valid link; every session of the account ends."""
    user = user_for_token(token)
    if isinstance(user, TokenProblem):
        page = render_template("auth/reset_invalid.html", problem=user, title="Reset password")
        return page, 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        user.password_hash = hash_password(form.password.data)
        user.rotate_session_token()  # every session and remember cookie of the account ends
        db.session.commit()
        if current_user.is_authenticated:
            session.clear()
            logout_user()
        flash("Your password has been reset. Please log in with the new one.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, title="Reset password")
