"""Docker HEALTHCHECK for stockdash: exit 0 only when /healthcheck/ answers 200.

Run inside the container as `python docker/healthcheck.py [URL]`. It uses http.client, which never
follows redirects, so a 301/302 (for example to a login page) counts as unhealthy, as does any
other status, a refused connection or no answer within HEALTHCHECK_TIMEOUT seconds (default 5,
the time the app promises to answer in even when the database is down).

Without URL it asks http://127.0.0.1:<port>/healthcheck/, the port taken from GUNICORN_BIND (the
same variable gunicorn.conf.py binds to). When TRUSTED_HOSTS is set, the app refuses other Host
headers, so the first trusted host is sent as Host.
"""

from __future__ import annotations

import http.client
import os
import sys
from urllib.parse import urlsplit

DEFAULT_BIND = "0.0.0.0:8000"
HEALTH_PATH = "/healthcheck/"


def default_url(environ: dict[str, str]) -> str:
    """The healthcheck URL on loopback, at the port of the first TCP address gunicorn binds."""
    port = "8000"
    for bind in environ.get("GUNICORN_BIND", DEFAULT_BIND).split(","):
        bind = bind.strip()
        if bind and not bind.startswith(("unix:", "fd://")) and ":" in bind:
            port = bind.rsplit(":", 1)[1]
            break
    return f"http://127.0.0.1:{port}{HEALTH_PATH}"


def host_header(environ: dict[str, str], netloc: str) -> str:
    """The Host to send: the first TRUSTED_HOSTS entry (a leading dot allows subdomains), else
    the URL's own host and port."""
    for host in environ.get("TRUSTED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host:
            return host
    return netloc


def check(url: str, environ: dict[str, str]) -> tuple[bool, str]:
    """Ask `url` once; (healthy, one line saying why) with healthy only for a 200."""
    try:
        timeout = float(environ.get("HEALTHCHECK_TIMEOUT", "5"))
    except ValueError:
        return False, "HEALTHCHECK_TIMEOUT must be a number of seconds"
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return False, f"not an http:// URL: {url!r}"
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request(
            "GET",
            parts.path or "/",
            headers={"Host": host_header(environ, parts.netloc), "Connection": "close"},
        )
        response = connection.getresponse()
        summary = response.read(200).decode("utf-8", "replace").strip().splitlines()
    except (OSError, http.client.HTTPException) as error:
        return False, f"no answer from {url}: {type(error).__name__}: {error}"
    finally:
        connection.close()
    first_line = summary[0] if summary else ""
    if response.status != 200:
        location = response.getheader("Location")
        where = f" -> {location}" if location else ""
        return False, f"{url} answered {response.status}{where}: {first_line}"
    return True, f"{url} answered 200: {first_line}"


def main(argv: list[str]) -> int:
    """Exit status for Docker: 0 healthy, 1 unhealthy (Docker reserves 2)."""
    url = argv[1] if len(argv) > 1 else default_url(dict(os.environ))
    healthy, reason = check(url, dict(os.environ))
    print(reason)  # Docker keeps the last lines in `docker inspect` (State.Health.Log)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
