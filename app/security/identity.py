"""The login identity: what Flask-Login stores in the session and the remember cookie.

Pure functions that import nothing of the app: `app.models` builds identities with them, and
`app.security.login` reads them back, without either importing the other's module.
"""

from __future__ import annotations

import time

IDENTITY_SEPARATOR = ":"


def login_identity(user_id: int, session_token: str, issued_at: float | None = None) -> str:
    """The string stored in the session and the remember cookie for a login.

    It carries the user's current session token (so that logout and password changes invalidate
    every copy of old cookies) and the time of login (so that the server, not only the browser,
    enforces REMEMBER_DAYS: Flask-Login's remember cookie has no timestamp of its own). The cookie
    is signed by Flask-Login, so none of the parts can be forged.
    """
    issued = int(time.time() if issued_at is None else issued_at)
    return IDENTITY_SEPARATOR.join((str(user_id), session_token, str(issued)))


def parse_login_identity(identity: str) -> tuple[int, str, int] | None:
    """Split a login identity into (user id, session token, issued at); None if malformed."""
    parts = identity.split(IDENTITY_SEPARATOR)
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit():
        return None
    return int(parts[0]), parts[1], int(parts[2])
