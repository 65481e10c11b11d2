"""Account views: thin wrappers around the forms (validate -> database -> redirect)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.accounts.events import record_login_event
from app.auth.devices import issue_device_cookie
from app.auth.forms import LoginForm, LogoutForm, RegistrationForm
from app.auth.limits import Attempt, address_key, check_and_count, login_keys, refund
from app.errors import render_error
from app.extensions import db
from app.models import LoginOutcome, User, utcnow
from app.passwords import burn_verification_time, hash_password, needs_rehash, verify_password
from app.security.login import end_login
from app.security.redirects import DEFAULT_NEXT, safe_next

bp = Blueprint("auth", __name__)
INVALID_CREDENTIALS = "Invalid e-mail or password."
# What a 429 says, by the allowance that was used up (see app.auth.limits and the README).
TOO_MANY = {
    "address": "There were too many failed attempts from your network address.",
    "account": (
        "There were too many failed attempts on this account from browsers it has not been "
        "used in. If it is yours, log in from a browser where you logged in before, or wait."
    ),
    "device": "There were too many failed attempts from this browser.",
    "register": "There were too many registrations from your network address.",
    "reset": "There were too many password-reset requests for this address or from yours.",
}


def too_many_attempts(attempt: Attempt, kind: str | None = None):
    """The 429 page for a refused attempt, with Retry-After."""
    kind = kind or (attempt.refused_key or "address").split(":", 1)[0]
    minutes = max(1, round(attempt.retry_after / 60))
    wait = f"Please try again in {minutes} minute{'s' if minutes > 1 else ''}."
    response = make_response(render_error(429, f"{TOO_MANY[kind]} {wait}"))
    response.headers["Retry-After"] = str(attempt.retry_after)
    return response


@bp.route("/register/", methods=["GET", "POST"])
def register():
    """Create an account, then send the user to the login form.

    Every submission counts against REGISTER_RATE_LIMIT per address, before the form is read:
    the answer for a taken address differs from the one for a new address, and the limit is
    what keeps anyone from asking about many (README, "Login limits").
    """
    if not current_app.config["ALLOW_REGISTRATION"]:
        abort(404)
    if current_user.is_authenticated:
        return redirect(DEFAULT_NEXT)
    if request.method == "POST":
        attempt = check_and_count("REGISTER_RATE_LIMIT", [address_key()])
        if not attempt.allowed:
            return too_many_attempts(attempt, "register")
    form = RegistrationForm()
    if form.validate_on_submit():
        user = User(
            email=form.email.data,
            first_name=form.first_name.data,
            last_name=form.last_name.data,
            password_hash=hash_password(form.password.data),
        )
        db.session.add(user)
        try:
            db.session.commit()
        except IntegrityError:
            # Two registrations for one address at the same moment: the unique index decides.
            db.session.rollback()
            form.email.errors.append("This e-mail address is already registered.")
        else:
            flash("Your account has been created. Please log in.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/register.html", form=form, title="Register")


@bp.route("/login/", methods=["GET", "POST"])
def login():
    """Log in with e-mail and password, then follow a safe `next` or open the dashboard.

    The attempt is counted before the password is checked (so concurrent tries cannot overtake
    the limit) and given back when the password is right (only failures count).
    """
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    if form.validate_on_submit():
        attempt = check_and_count("LOGIN_RATE_LIMIT", login_keys(form.email.data))
        user = db.session.scalar(select(User).where(User.email == form.email.data))
        remember = form.remember_me.data
        if not attempt.allowed:
            if user is not None:
                record_login_event(user.id, LoginOutcome.RATE_LIMITED, remember)
                db.session.commit()
            return too_many_attempts(attempt)
        if user is None:
            burn_verification_time(form.password.data)
        elif verify_password(user.password_hash, form.password.data):
            refund(attempt)
            return complete_login(user, form, next_url)
        else:
            record_login_event(user.id, LoginOutcome.WRONG_PASSWORD, remember)
            db.session.commit()
        form.password.errors.append(INVALID_CREDENTIALS)
    return render_template("auth/login.html", form=form, title="Log in")


def complete_login(user: User, form: LoginForm, next_url: str):
    """Record the login atomically (and in the sign-in history), start a fresh session and
    redirect."""
    now = utcnow()
    values = {"login_count": User.login_count + 1, "last_login_at": now, "last_seen_at": now}
    if needs_rehash(user.password_hash):
        values["password_hash"] = hash_password(form.password.data)
    # The increment is computed by the database, so concurrent logins are all counted.
    db.session.execute(
        update(User).where(User.id == user.id).values(**values),
        execution_options={"synchronize_session": False},
    )
    record_login_event(user.id, LoginOutcome.SUCCESS, form.remember_me.data)
    db.session.commit()
    session.clear()  # no session fixation: nothing from before the login survives it
    login_user(user, remember=form.remember_me.data)
    response = redirect(next_url)
    issue_device_cookie(response, user.email)
    return response


@bp.route("/logout/", methods=["GET", "POST"])
@login_required
def logout():
    """GET asks for confirmation; POST (with its CSRF token) ends every copy of the login."""
    form = LogoutForm()
    if request.method == "POST":
        current_user.rotate_session_token()
        db.session.commit()
        return end_login("You have been logged out.")
    return render_template("auth/logout.html", form=form, title="Log out")
