"""Error pages, rollback on 500, and where logs and error e-mails go."""

from __future__ import annotations

import logging
import socket
import threading
import time
from logging.handlers import RotatingFileHandler

from sqlalchemy import func, select

from app.extensions import db
from app.logging import BackgroundHandler, MailHandler
from app.models import User
from tests.rehearsal.smtp import StallingSMTPServer


def test_custom_404_page_in_site_layout(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "Page not found" in body
    assert 'class="navbar' in body


def add_failing_route(app):
    """A view that writes to the database and then fails before committing."""

    def boom():
        db.session.add(
            User(email="ghost@example.com", first_name="G", last_name="H", password_hash="x")
        )
        db.session.flush()
        raise RuntimeError("something broke")

    app.add_url_rule("/boom", "boom", boom)


def test_500_page_rolls_back_and_hides_the_trace(make_app):
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    add_failing_route(app)
    client = app.test_client()
    response = client.get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "RuntimeError" not in body and "Traceback" not in body
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert client.get("/healthcheck/").status_code == 200  # the session is usable again


def test_logs_go_to_stdout_and_to_a_rotating_file(make_app, tmp_path, capsys):
    log_file = tmp_path / "stockdash.log"
    app = make_app(LOG_FILE=str(log_file))
    handlers = app.logger.handlers
    assert any(isinstance(h, RotatingFileHandler) for h in handlers)
    app.logger.warning("hello from the test")
    for handler in handlers:
        handler.flush()
    assert "hello from the test" in capsys.readouterr().out
    assert "hello from the test" in log_file.read_text()
    for handler in handlers:
        if isinstance(handler, RotatingFileHandler):
            handler.close()


class TinySMTPServer:
    """Just enough SMTP to receive one message, on a loopback port."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.messages: list[str] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(10)
        connection, _ = self.sock.accept()
        with connection, connection.makefile("rwb") as stream:

            def reply(line: str):
                stream.write(line.encode() + b"\r\n")
                stream.flush()

            reply("220 tiny ESMTP")
            while line := stream.readline().decode():
                command = line.strip().upper()
                if command == "DATA":
                    reply("354 go ahead")
                    data = []
                    while (part := stream.readline().decode()).rstrip("\r\n") != ".":
                        data.append(part)
                    self.messages.append("".join(data))
                    reply("250 queued")
                elif command == "QUIT":
                    reply("221 bye")
                    return
                else:
                    reply("250 ok")

    def close(self):
        self.thread.join(timeout=10)
        self.sock.close()


def make_mailing_app(make_app, port):
    """An app that e-mails its unhandled errors to ops@example.com through 127.0.0.1:`port`."""
    return make_app(
        TESTING=False,
        PROPAGATE_EXCEPTIONS=False,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        ADMINS=["ops@example.com"],
    )


def test_unhandled_errors_are_emailed_to_admins(make_app):
    server = TinySMTPServer()
    try:
        app = make_mailing_app(make_app, server.port)
        (handler,) = [h for h in app.logger.handlers if isinstance(h, BackgroundHandler)]
        assert isinstance(handler.target, MailHandler)
        add_failing_route(app)
        assert app.test_client().get("/boom").status_code == 500
        assert handler.drain(timeout=10)  # sent by the listener thread, after the answer
    finally:
        server.close()
    assert len(server.messages) == 1
    message = server.messages[0]
    assert "To: ops@example.com" in message
    assert "stockdash failure" in message
    assert "RuntimeError: something broke" in message


def test_a_mail_server_that_never_answers_delays_no_500_page(make_app):
    # Before, the e-mail was sent inside the request: every 500 took the SMTP timeout (5 s).
    server = StallingSMTPServer()
    try:
        app = make_mailing_app(make_app, server.port)
        add_failing_route(app)
        client = app.test_client()
        for _ in range(3):
            started = time.monotonic()
            response = client.get("/boom")
            elapsed = time.monotonic() - started
            assert response.status_code == 500
            assert "Something went wrong" in response.get_data(as_text=True)
            assert elapsed < 2.5, f"the 500 page took {elapsed:.1f} s"
        assert server.connections  # the listener thread is the one waiting for the server
    finally:
        server.close()


def test_error_mails_beyond_the_queue_are_dropped_and_counted(make_app, capsys):
    server = StallingSMTPServer()
    try:
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, ADMINS=["o@example.com"])
        (handler,) = [h for h in app.logger.handlers if isinstance(h, BackgroundHandler)]
        # One record is taken by the listener (stuck on the server), `capacity` wait behind it.
        for number in range(handler.capacity + 5):
            app.logger.error("failure %d", number)
        assert 4 <= handler.dropped <= 5
        assert "error e-mail dropped" in capsys.readouterr().err
    finally:
        empty_queue(handler)  # else the listener tries each one once the server is gone
        server.close()


def empty_queue(handler: BackgroundHandler) -> None:
    """Throw away the records still waiting in `handler`'s queue."""
    handler.worker.discard()


def test_no_mail_handler_without_mail_server(app):
    assert not any(isinstance(h, BackgroundHandler) for h in app.logger.handlers)
    assert app.logger.level == logging.WARNING
