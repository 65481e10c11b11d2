"""Forgotten passwords: the link arrives by real SMTP (aiosmtpd) and is followed through the
real form; tokens that are garbage, expired, used or for a deleted account get a message."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import delete

from app.extensions import db
from app.models import User
from tests.support.users import DEFAULT_EMAIL, DEFAULT_PASSWORD, AuthActions, create_user, submit

LINK_RE = re.compile(r"http://localhost(/reset-password/[^/\s]+/)")
NEW_PASSWORD = "difference engine"


def request_reset(client, email=DEFAULT_EMAIL):
    return submit(client, "/reset-password/", {"email": email})


def reset_link(smtp_server, count=1) -> str:
    message = smtp_server.mailbox.wait_for(count)[-1]
    match = LINK_RE.search(message.get_content())
    assert match, message.get_content()
    return match.group(1)


def set_password(client, link, password=NEW_PASSWORD, repeat=None):
    return submit(client, link, {"password": password, "password2": repeat or password})


def test_reset_by_email_sets_the_password_and_ends_every_session(mail_app, smtp_server):
    create_user(mail_app)
    logged_in = mail_app.test_client()
    AuthActions(logged_in).login(remember=True)
    client = mail_app.test_client()
    response = request_reset(client)
    assert response.status_code == 302 and response.headers["Location"] == "/login/"
    assert "is on its way" in client.get("/login/").get_data(as_text=True)
    message = smtp_server.mailbox.wait_for(1)[0]
    assert message["To"] == DEFAULT_EMAIL and message["From"] == "site@example.com"
    assert "within 2 hours" in message.get_content()
    link = reset_link(smtp_server)
    form = client.get(link)
    assert form.status_code == 200 and "Choose a new password" in form.get_data(as_text=True)
    done = set_password(client, link)
    assert done.status_code == 302 and done.headers["Location"] == "/login/"
    assert logged_in.get("/settings/profile/").status_code == 302  # its session is dead
    assert AuthActions(mail_app.test_client()).login().status_code == 200  # old password
    assert AuthActions(client).login(password=NEW_PASSWORD).status_code == 302
    # The link works once.
    again = client.get(link)
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)


def test_unknown_address_gets_the_same_answer_and_no_mail(mail_app, smtp_server):
    create_user(mail_app)
    answers = []
    for email in ("nobody@example.com", DEFAULT_EMAIL):
        client = mail_app.test_client()
        response = request_reset(client, email)
        flashed = re.findall(r'role="alert">([^<]*)<', client.get("/login/").get_data(as_text=True))
        answers.append((response.status_code, response.headers["Location"], flashed))
    assert answers[0] == answers[1]
    assert [m["To"] for m in smtp_server.mailbox.wait_for(1)] == [DEFAULT_EMAIL]
    assert mail_app.extensions["stockdash_mailer"].drain(5)
    assert len(smtp_server.mailbox.messages) == 1


def test_link_dies_when_the_password_changes(mail_app, smtp_server):
    create_user(mail_app)
    client = mail_app.test_client()
    request_reset(client)
    link = reset_link(smtp_server)
    other = mail_app.test_client()
    AuthActions(other).login()
    data = {"current_password": DEFAULT_PASSWORD, "password": "third password",
            "password2": "third password"}  # fmt: skip
    assert submit(other, "/settings/password/", data).status_code == 302
    response = client.get(link)
    assert response.status_code == 400 and "already been used" in response.get_data(as_text=True)
    assert client.post(link, data={"password": NEW_PASSWORD}).status_code == 400


def test_link_expires_after_reset_token_hours(mail_app, smtp_server):
    create_user(mail_app)
    client = mail_app.test_client()
    request_reset(client)
    link = reset_link(smtp_server)
    assert client.get(link).status_code == 200
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2, minutes=1)):
        response = client.get(link)
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)


def test_link_for_a_deleted_account(mail_app, smtp_server):
    user = create_user(mail_app)
    client = mail_app.test_client()
    request_reset(client)
    link = reset_link(smtp_server)
    with mail_app.app_context():
        db.session.execute(delete(User).where(User.id == user))
        db.session.commit()
    response = client.get(link)
    assert response.status_code == 400 and "no longer exists" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "token",
    ["garbage", "x" * 5000, "eyJ1c2VyIjoxfQ.Zz.abc", "%00", "%E2%98%83", "..", "a.b.c.d"],
)
def test_garbage_tokens_get_a_message(client, token):
    response = client.get(f"/reset-password/{token}/")
    assert response.status_code in (400, 404)
    if response.status_code == 400:
        assert "not valid" in response.get_data(as_text=True)


def test_forged_payloads_signed_with_the_key_are_refused(app, user):
    from app.accounts.tokens import TokenProblem, serializer, user_for_token

    with app.test_request_context():
        for payload in ([1], {"user": "1"}, {"user": True, "password": ""},
                        {"user": 2**40, "password": ""}, {"user": user}):  # fmt: skip
            token = serializer().dumps(payload)
            assert user_for_token(token) in (TokenProblem.INVALID, TokenProblem.NO_ACCOUNT)


def test_new_password_errors_beside_the_field(mail_app, smtp_server):
    create_user(mail_app)
    client = mail_app.test_client()
    request_reset(client)
    link = reset_link(smtp_server)
    response = set_password(client, link, "short", "short")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="password-errors"' in page
    response = set_password(client, link, NEW_PASSWORD, "other words")
    assert 'id="password2-errors"' in response.get_data(as_text=True)
    no_token = {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert client.post(link, data=no_token).status_code == 400


def test_reset_requests_are_limited(make_app, smtp_server):
    app = make_app(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, RESET_RATE_LIMIT="2 per hour"
    )
    create_user(app)
    client = app.test_client()
    assert [request_reset(client).status_code for _ in range(3)] == [302, 302, 429]
    assert request_reset(client, "nobody@example.com").status_code == 429  # the address's 2
    assert len(smtp_server.mailbox.wait_for(2)) == 2  # the two requests let through were sent


def test_without_mail_the_page_says_what_an_operator_runs(client, user):
    page = client.get("/reset-password/").get_data(as_text=True)
    assert "flask --app wsgi users reset-password EMAIL" in page
    assert 'name="email"' not in page
    assert client.post("/reset-password/", data={"email": DEFAULT_EMAIL}).status_code == 400


def test_a_slow_mail_server_delays_no_answer(make_app):
    import socket
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections and never greets: smtplib waits for its timeout
    try:
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=listener.getsockname()[1])
        create_user(app)
        client = app.test_client()
        started = time.monotonic()
        assert request_reset(client).status_code == 302
        assert time.monotonic() - started < 2
    finally:
        listener.close()


def test_cli_reset_password(app, user):
    runner = app.test_cli_runner()
    logged_in = app.test_client()
    AuthActions(logged_in).login()
    result = runner.invoke(
        args=["users", "reset-password", "ADA@example.com", "--password-stdin"],
        input=NEW_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert logged_in.get("/settings/profile/").status_code == 302  # every session ended
    assert AuthActions(app.test_client()).login(password=NEW_PASSWORD).status_code == 302
    short = runner.invoke(
        args=["users", "reset-password", DEFAULT_EMAIL, "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 1 and "password:" in short.output
    unknown = runner.invoke(
        args=["users", "reset-password", "nobody@example.com", "--password-stdin"], input="x\n"
    )
    assert unknown.exit_code == 1 and "No account" in unknown.output
