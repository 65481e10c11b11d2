"""Account views: thin wrappers around the forms (validate -> database -> redirect)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.auth.forms import LoginForm, LogoutForm, RegistrationForm, normalise_email
from app.extensions import db, limiter
from app.models import EMAIL_MAX, User, utcnow
from app.passwords import burn_verification_time, hash_password, needs_rehash, verify_password
from app.security.redirects import DEFAULT_NEXT, safe_next

bp = Blueprint("auth", __name__)
INVALID_CREDENTIALS = "Invalid e-mail or password."


def login_rate_limit() -> str:
    """The configured allowance of failed logins (per account and per address)."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def account_key() -> str:
    """Rate-limit key for the account a login attempt names."""
    email = normalise_email(request.form.get("email", "")) or ""
    return "account:" + email[:EMAIL_MAX]


def address_key() -> str:
    """Rate-limit key for the client address (the real one when PROXY_FIX is set)."""
    return "address:" + (get_remote_address() or "unknown")


def login_failed(_response) -> bool:
    """Only attempts with wrong credentials use up the allowance, not typos in the form."""
    return bool(g.get("login_failed"))


@bp.route("/register/", methods=["GET", "POST"])
def register():
    """Create an account, then send the user to the login form."""
    if not current_app.config["ALLOW_REGISTRATION"]:
        abort(404)
    if current_user.is_authenticated:
        return redirect(DEFAULT_NEXT)
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
@limiter.limit(
    login_rate_limit,
    key_func=account_key,
    methods=["POST"],
    deduct_when=login_failed,
    scope="login-account",
)
@limiter.limit(
    login_rate_limit,
    key_func=address_key,
    methods=["POST"],
    deduct_when=login_failed,
    scope="login-address",
)
def login():
    """Log in with e-mail and password, then follow a safe `next` or open the dashboard."""
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.email == form.email.data))
        if user is None:
            burn_verification_time(form.password.data)
        elif verify_password(user.password_hash, form.password.data):
            return complete_login(user, form, next_url)
        g.login_failed = True
        form.password.errors.append(INVALID_CREDENTIALS)
    return render_template("auth/login.html", form=form, title="Log in")


def complete_login(user: User, form: LoginForm, next_url: str):
    """Record the login atomically, start a fresh session and redirect."""
    values = {"login_count": User.login_count + 1, "last_login_at": utcnow()}
    if needs_rehash(user.password_hash):
        values["password_hash"] = hash_password(form.password.data)
    # The increment is computed by the database, so concurrent logins are all counted.
    db.session.execute(
        update(User).where(User.id == user.id).values(**values),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    session.clear()  # no session fixation: nothing from before the login survives it
    login_user(user, remember=form.remember_me.data)
    return redirect(next_url)


@bp.route("/logout/", methods=["GET", "POST"])
@login_required
def logout():
    """GET asks for confirmation; POST (with its CSRF token) ends every copy of the login."""
    form = LogoutForm()
    if request.method == "POST":
        current_user.rotate_session_token()
        db.session.commit()
        session.clear()
        logout_user()  # after clear(): it leaves the flag that deletes the remember cookie
        flash("You have been logged out.", "info")
        return redirect(url_for("main.index"))
    return render_template("auth/logout.html", form=form, title="Log out")
