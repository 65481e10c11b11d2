"""Password hashing with argon2id (argon2-cffi's defaults meet OWASP's recommendation)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Hash a password with argon2id and a random salt."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if `password` matches `password_hash`; a malformed hash never matches."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not a real password: only here to spend the time a real check takes")


def burn_verification_time(password: str) -> None:
    """Spend as long as a real check would, for a login whose e-mail is unknown.

    Without it, an unknown e-mail would answer measurably faster than a wrong password and tell
    an attacker which addresses have accounts.
    """
    verify_password(_dummy_hash(), password)


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
