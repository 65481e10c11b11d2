"""Where a `next` parameter may send the user: only to a path of this site."""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_NEXT = "/dash/"


def safe_next(target: str | None, default: str = DEFAULT_NEXT) -> str:
    """Return `target` if it is a same-site path, else `default`.

    Browsers are lenient: they strip leading blanks and tabs, read backslashes as slashes and
    `//host` as another site. So only a value that starts with exactly one `/` and contains no
    backslash, control character or blank at the start is followed.
    """
    if not target:
        return default
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target) or "\\" in target:
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
