"""What gunicorn answers by itself, before the app sees a request. Its error answers to
malformed requests (400 bad request line or header, 414 request line too long, 431 headers too
large...) carry the site's security headers and `Cache-Control: no-store`, as plain text that no
longer echoes the malformed request; and no answer names the server software (gunicorn's
`Server: gunicorn` header).

gunicorn has no setting for either, so `harden_gunicorn()` (called by gunicorn.conf.py's
on_starting hook, in the master before any worker forks) replaces the two functions involved.
"""

from __future__ import annotations

from app.security.headers import BARE_CSP, BASE_HEADERS


def error_answer(status: int, reason: str) -> bytes:
    """A complete HTTP/1.1 error answer: plain text naming the status, the security headers,
    `Cache-Control: no-store`, and the connection closed."""
    body = f"{status} {reason}\n".encode("latin-1")
    lines = [
        f"HTTP/1.1 {status} {reason}",
        "Connection: close",
        "Content-Type: text/plain; charset=utf-8",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        f"Content-Security-Policy: {BARE_CSP}",
        *(f"{name}: {value}" for name, value in BASE_HEADERS.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def harden_gunicorn() -> None:
    """Give gunicorn's own error answers the security headers and drop its Server header."""
    from gunicorn import util
    from gunicorn.http import wsgi

    def write_error(sock, status_int, reason, mesg):
        # `mesg` repeats the malformed request; gunicorn's log keeps it, the answer does not.
        util.write_nonblock(sock, error_answer(int(status_int), reason))

    util.write_error = write_error

    if not getattr(wsgi.Response.default_headers, "hides_server", False):
        with_server = wsgi.Response.default_headers

        def default_headers(self):
            return [line for line in with_server(self) if not line.startswith("Server:")]

        default_headers.hides_server = True
        wsgi.Response.default_headers = default_headers
