"""Profiles and their avatars (/users/<id>/) and the account's settings (/settings/...).

Settings URLs carry no id: every one of them acts on the logged-in user, so another user's
settings cannot even be addressed.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import delete, select
from wtforms import Field

from app.accounts.avatars import avatar_etag, identicon_svg
from app.accounts.events import record_login_event
from app.accounts.follows import (
    SelfFollow,
    UnknownUser,
    follow,
    follow_counts,
    followers_page,
    following_page,
    is_following,
    unfollow,
)
from app.accounts.forms import (
    ChangePasswordForm,
    DeleteAccountForm,
    FollowForm,
    LogoutOthersForm,
    ProfileForm,
    UnfollowForm,
)
from app.auth.limits import check_and_count, login_keys, refund
from app.auth.routes import too_many_attempts
from app.extensions import db
from app.models import LoginEvent, LoginOutcome, User
from app.notes.queries import count_user_notes, note_page, user_notes_query
from app.pagination import ID_MAX, Page, keyset_page
from app.passwords import hash_password, verify_password
from app.security.login import end_login, renew_login
from app.security.redirects import safe_next

bp = Blueprint("accounts", __name__)
AVATAR_MAX_AGE = 86400
WRONG_PASSWORD = "This is not your password."  # noqa: S105 (a message, not a password)


def user_or_404(user_id: int) -> User:
    """The user with this id, or a 404 (ids past INTEGER's range too, never a database error)."""
    user = db.session.get(User, user_id) if 0 < user_id <= ID_MAX else None
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>/")
@login_required
def profile(user_id: int):
    """An analyst's profile; the e-mail address only for its owner."""
    user = user_or_404(user_id)
    is_owner = user.id == current_user.id
    return render_template(
        "accounts/profile.html",
        user=user,
        is_owner=is_owner,
        counts=follow_counts(user.id),
        following=not is_owner and is_following(current_user.id, user.id),
        follow_forms=follow_forms(),
        notes_page=note_page(user_notes_query(user.id)),
        notes_count=count_user_notes(user.id),
        title=user.full_name,
    )


def follow_forms() -> dict[str, FollowForm]:
    """The Follow and Unfollow forms a page draws its buttons with (see accounts/_follows.html)."""
    return {"follow": FollowForm(), "unfollow": UnfollowForm()}


def back_to_profile(user: User, form: FollowForm):
    """To the form's `next` when it is a path of this site, else to `user`'s profile."""
    return redirect(safe_next(form.next.data, url_for("accounts.profile", user_id=user.id)))


@bp.route("/users/<int:user_id>/follow", methods=["POST"])
@login_required
def follow_user(user_id: int):
    """Follow the analyst (again: nothing changes); oneself: refused with a message."""
    user = user_or_404(user_id)
    form = FollowForm()
    if not form.validate_on_submit():  # its CSRF token (app.security.csrf checks it first)
        abort(400)
    try:
        follow(current_user.id, user.id)
    except SelfFollow:
        flash("You cannot follow yourself.", "warning")
    except UnknownUser:  # deleted since the lookup
        abort(404)
    else:
        flash(f"You are following {user.full_name}.", "success")
    return back_to_profile(user, form)


@bp.route("/users/<int:user_id>/unfollow", methods=["POST"])
@login_required
def unfollow_user(user_id: int):
    """Stop following the analyst (not following: nothing changes)."""
    user = user_or_404(user_id)
    form = UnfollowForm()
    if not form.validate_on_submit():  # its CSRF token (app.security.csrf checks it first)
        abort(400)
    unfollow(current_user.id, user.id)
    if user.id != current_user.id:
        flash(f"You are no longer following {user.full_name}.", "success")
    return back_to_profile(user, form)


@bp.route("/users/<int:user_id>/followers/")
@login_required
def followers(user_id: int):
    """The analysts following this one, newest follow first, a page at a time."""
    user = user_or_404(user_id)
    return follow_list(user, "followers", followers_page(user.id, current_user.id))


@bp.route("/users/<int:user_id>/following/")
@login_required
def following(user_id: int):
    """The analysts this one follows, newest follow first, a page at a time."""
    user = user_or_404(user_id)
    return follow_list(user, "following", following_page(user.id, current_user.id))


def follow_list(user: User, which: str, page: Page):
    """One of `user`'s two lists (`which`: "followers" or "following") as a page."""
    title = f"Followers of {user.full_name}" if which == "followers" else (
        f"Followed by {user.full_name}"
    )
    return render_template(
        "accounts/follows.html",
        user=user,
        which=which,
        page=page,
        counts=follow_counts(user.id),
        follow_forms=follow_forms(),
        title=title,
    )


@bp.route("/users/<int:user_id>/avatar.svg")
@login_required
def avatar(user_id: int):
    """The user's identicon, cached by the browser for a day and revalidated by its ETag."""
    exists = 0 < user_id <= ID_MAX and db.session.scalar(select(User.id).where(User.id == user_id))
    if not exists:
        abort(404)
    svg = identicon_svg(user_id)
    response = Response(svg, mimetype="image/svg+xml")
    response.set_etag(avatar_etag(svg))
    response.headers["Cache-Control"] = f"private, max-age={AVATAR_MAX_AGE}"
    return response.make_conditional(request)


def account() -> User:
    """The logged-in user itself (not Flask-Login's proxy), for the database session."""
    return current_user._get_current_object()


def password_confirmed(field: Field) -> bool:
    """Whether `field` holds the logged-in user's password, checked as a login attempt is:
    counted against LOGIN_RATE_LIMIT with the same keys (so settings cannot be used to guess
    around the login limit), recorded in the sign-in history when wrong, given back when right.
    A wrong password is an error beside the field; a refused attempt answers 429 at once."""
    user = account()
    attempt = check_and_count("LOGIN_RATE_LIMIT", login_keys(user.email))
    if not attempt.allowed:
        record_login_event(user.id, LoginOutcome.RATE_LIMITED)
        db.session.commit()
        abort(too_many_attempts(attempt))
    if verify_password(user.password_hash, field.data):
        refund(attempt)
        return True
    record_login_event(user.id, LoginOutcome.WRONG_PASSWORD)
    db.session.commit()
    field.errors.append(WRONG_PASSWORD)
    return False


@bp.route("/settings/profile/", methods=["GET", "POST"])
@login_required
def edit_profile():
    """Names and "about me"; saved, the profile is shown."""
    user = account()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        user.first_name = form.first_name.data
        user.last_name = form.last_name.data
        user.about_me = form.about_me.data or ""
        db.session.commit()
        flash("Your profile has been saved.", "success")
        return redirect(url_for("accounts.profile", user_id=user.id))
    return render_template("settings/profile.html", form=form, title="Edit profile")


@bp.route("/settings/password/", methods=["GET", "POST"])
@login_required
def change_password():
    """A new password: every other session and remember cookie ends, this one goes on."""
    form = ChangePasswordForm()
    if form.validate_on_submit() and password_confirmed(form.current_password):
        user = account()
        user.password_hash = hash_password(form.password.data)
        user.rotate_session_token()
        db.session.commit()
        renew_login(user)
        flash("Your password has been changed. Every other session was logged out.", "success")
        return redirect(url_for("accounts.change_password"))
    return render_template("settings/password.html", form=form, title="Change password")


@bp.route("/settings/security/")
@login_required
def security():
    """The account's sign-in history, newest first, a page at a time."""
    user = account()
    page = keyset_page(select(LoginEvent).where(LoginEvent.user_id == user.id), LoginEvent.id)
    return render_template(
        "settings/security.html", page=page, form=LogoutOthersForm(), title="Sign-in history"
    )


@bp.route("/settings/security/logout-others", methods=["POST"])
@login_required
def logout_others():
    """End every session and remember cookie of the account but this browser's."""
    user = account()
    user.rotate_session_token()
    db.session.commit()
    renew_login(user)
    flash("Every other session has been logged out.", "success")
    return redirect(url_for("accounts.security"))


@bp.route("/settings/delete/", methods=["GET", "POST"])
@login_required
def delete_account():
    """Delete the account, given its password. Its rows in other tables (sign-in history,
    watchlist, notes, follows) go with it: their foreign keys say ON DELETE CASCADE."""
    form = DeleteAccountForm()
    if form.validate_on_submit() and password_confirmed(form.password):
        user_id = account().id
        db.session.execute(delete(User).where(User.id == user_id))
        db.session.commit()
        return end_login("Your account has been deleted.")
    return render_template("settings/delete.html", form=form, title="Delete account")
