"""Attempt limits (failed logins, registrations): count first, then act, shared by every process.

`check_and_count(rule, keys)` counts one attempt against every key's allowance *before* the
caller does the work (verifies a password, creates an account), atomically in the storage: 30
concurrent tries against an allowance of 5 let exactly 5 through, in one process or many. A
refused attempt is given back at once (it tested nothing), and `refund(attempt)` gives back an
allowed one whose outcome should not count (a correct password). Windows are fixed windows, as
LOGIN_RATE_LIMIT says (`5 per minute;50 per hour`: a counter per key and per window).

The counters live in RATELIMIT_STORAGE_URI (Redis when several processes serve the app). When
that storage fails, counting goes on in this process's memory, loudly (an ERROR in the log, and
`warn` in the JSON healthcheck), and the storage is tried again every STORAGE_RECHECK_S seconds;
logins keep working, each process then allowing the full limit on its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError, StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string

from app.auth.devices import known_device
from app.models import EMAIL_MAX

EXTENSION_KEY = "stockdash_limits"
STORAGE_RECHECK_S = 5.0
# A storage that does not answer within this long counts as down (so a login never waits for
# it longer); redis-py's default retries would multiply it, so there are none.
STORAGE_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class Counted:
    """One counter an attempt incremented, and the storage that holds it."""

    storage: Storage
    key: str
    item: RateLimitItem


@dataclass(frozen=True)
class Attempt:
    """The verdict on one attempt: allowed, or refused by the allowance of `refused_key`
    (one of the keys given to check_and_count) for another `retry_after` seconds."""

    allowed: bool
    refused_key: str | None = None
    retry_after: int = 0
    counted: tuple[Counted, ...] = ()


def describe_storage(uri: str) -> str:
    """The storage URI without its credentials, to name it in the log."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if host else f"{parts.scheme}://"


def storage_options(uri: str) -> dict:
    """Options that keep a Redis storage from ever holding a request up for long."""
    if not uri.startswith(("redis://", "rediss://", "redis+unix://")):
        return {}
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {
        "socket_timeout": STORAGE_TIMEOUT_S,
        "socket_connect_timeout": STORAGE_TIMEOUT_S,
        "retry": Retry(NoBackoff(), 0),
    }


class AttemptCounters:
    """The app's counters: the configured storage, with a per-process fallback when it fails."""

    def __init__(self, uri: str, logger: logging.Logger, recheck_s: float = STORAGE_RECHECK_S):
        self.uri = uri
        self.name = describe_storage(uri)
        self.logger = logger
        self.recheck_s = recheck_s
        try:
            self.primary = storage_from_string(uri, wrap_exceptions=True, **storage_options(uri))
        except ConfigurationError as error:
            message = f"RATELIMIT_STORAGE_URI {self.name!r} is not usable: {error}"
            raise ValueError(message) from None
        self.shared = not isinstance(self.primary, MemoryStorage)
        self.fallback = MemoryStorage()
        # MemoryStorage.incr reads its result after releasing its lock, so two threads can both
        # read the later value; one lock around every in-memory count makes it exact.
        self._memory_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._down_since: float | None = None  # wall clock, for the healthcheck
        self._down_reason = ""
        self._next_try = 0.0  # monotonic: when to try a failed primary again

    # --- which storage ---------------------------------------------------------------------

    def _storage(self) -> Storage:
        """The primary, unless it failed less than `recheck_s` ago."""
        with self._state_lock:
            if self._down_since is None or time.monotonic() >= self._next_try:
                return self.primary
            return self.fallback

    def _primary_failed(self, error: Exception) -> None:
        with self._state_lock:
            first = self._down_since is None
            if first:
                self._down_since = time.time()
            self._down_reason = f"{type(getattr(error, 'storage_error', error)).__name__}"
            self._next_try = time.monotonic() + self.recheck_s
        if first:
            self.logger.error(
                "Rate-limit storage %s is unreachable (%s): failed logins are now counted in "
                "this process only, so every process allows the full limit, until it is back "
                "(tried again every %g s)",
                self.name, self._down_reason, self.recheck_s,
            )  # fmt: skip

    def _primary_worked(self) -> None:
        with self._state_lock:
            was_down = self._down_since is not None
            self._down_since = None
        if was_down:
            self.logger.warning(
                "Rate-limit storage %s is reachable again: counters are shared again", self.name
            )

    def _incr(self, storage: Storage, key: str, item: RateLimitItem, amount: int) -> int:
        if isinstance(storage, MemoryStorage):
            with self._memory_lock:
                if amount < 0:
                    return storage.decr(key, -amount)
                return storage.incr(key, item.get_expiry(), amount)
        value = storage.incr(key, item.get_expiry(), amount)
        if value < 0:  # a refund after its window ended re-created the key below zero
            storage.clear(key)
        return value

    # --- counting ---------------------------------------------------------------------------

    def check_and_count(self, items: Sequence[RateLimitItem], keys: Sequence[str]) -> Attempt:
        """Count one attempt for each key under each item; refused if any would exceed its
        allowance (then nothing stays counted). Keys are checked in order, so the first one
        named is the one reported when several are exhausted."""
        storage = self._storage()
        try:
            attempt = self._count(storage, items, keys)
        except StorageError as error:
            self._primary_failed(error)
            return self._count(self.fallback, items, keys)
        if storage is self.primary:
            self._primary_worked()
        return attempt

    def _count(self, storage: Storage, items, keys) -> Attempt:
        counted: list[Counted] = []
        try:
            for key in keys:
                for item in items:
                    full_key = item.key_for("attempts", key)
                    counted.append(Counted(storage, full_key, item))
                    if self._incr(storage, full_key, item, 1) > item.amount:
                        retry_after = max(1, round(storage.get_expiry(full_key) - time.time()))
                        self._give_back(counted)
                        return Attempt(False, key, retry_after)
        except StorageError:
            self._give_back(counted)
            raise
        return Attempt(True, counted=tuple(counted))

    def refund(self, attempt: Attempt) -> None:
        """Give back what an allowed attempt counted (its outcome should not count)."""
        self._give_back(attempt.counted)

    def _give_back(self, counted: Sequence[Counted]) -> None:
        """Decrement what was counted; a storage that fails meanwhile keeps the rest (it is
        down, and its counters expire with their windows)."""
        for entry in counted:
            try:
                self._incr(entry.storage, entry.key, entry.item, -1)
            except StorageError as error:
                self._primary_failed(error)
                return

    # --- health ------------------------------------------------------------------------------

    def health_check(self) -> dict:
        """A health+json check object: `pass`, or `warn` while counting per process.

        A shared storage is pinged (bounded by STORAGE_TIMEOUT_S), so an outage shows here
        even when nobody has tried to log in since.
        """
        check = {"componentType": "datastore", "status": "pass"}
        if not self.shared:
            check["output"] = f"{self.name}: counters in this process only"
            return check
        if self.primary.check():
            self._primary_worked()
        else:
            self._primary_failed(StorageError(ConnectionError("no answer to PING")))
        with self._state_lock:
            down_since = self._down_since
            reason = self._down_reason
        if down_since is not None:
            since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(down_since))
            check["status"] = "warn"
            check["output"] = (
                f"{self.name} unreachable since {since} ({reason}): counting in this process only"
            )
        return check


def init_limits(app: Flask) -> None:
    """Create the app's counters from RATELIMIT_STORAGE_URI; a bad URI or allowance stops the
    start with a message naming the variable."""
    for name in ("LOGIN_RATE_LIMIT", "REGISTER_RATE_LIMIT", "RESET_RATE_LIMIT", "NOTE_RATE_LIMIT"):
        try:
            parse_many(app.config[name])
        except ValueError:
            raise ValueError(
                f"{name} must look like '5 per minute;50 per hour'; got {app.config[name]!r}"
            ) from None
    app.extensions[EXTENSION_KEY] = AttemptCounters(
        app.config["RATELIMIT_STORAGE_URI"],
        app.logger,
        recheck_s=app.config.get("RATELIMIT_STORAGE_RECHECK_S", STORAGE_RECHECK_S),
    )


def counters() -> AttemptCounters:
    """The current app's counters."""
    return current_app.extensions[EXTENSION_KEY]


def rule(config_key: str) -> list[RateLimitItem]:
    """The allowance configured under `config_key`, e.g. LOGIN_RATE_LIMIT."""
    return parse_many(current_app.config[config_key])


def check_and_count(config_key: str, keys: Sequence[str]) -> Attempt:
    """Count one attempt against the allowance `config_key` of each of `keys` (see the module).

    With RATELIMIT_ENABLED off every attempt is allowed and nothing is counted.
    """
    if not current_app.config["RATELIMIT_ENABLED"]:
        return Attempt(True)
    return counters().check_and_count(rule(config_key), keys)


def refund(attempt: Attempt) -> None:
    """Give back an allowed attempt whose outcome should not count (e.g. a correct password)."""
    if attempt.counted:
        counters().refund(attempt)


def address_key() -> str:
    """The key of the client address (the real one when PROXY_FIX is set)."""
    return "address:" + (request.remote_addr or "unknown")


def login_keys(email: str) -> list[str]:
    """The allowances a login attempt for `email` uses, under LOGIN_RATE_LIMIT: its address's,
    and either its known device's (a valid device cookie for this login, app.auth.devices) or
    the account's allowance for unknown browsers. Anything else that checks a password (say, a
    password change) counts with these keys too, so that it cannot be used to guess around the
    login limit: `check_and_count("LOGIN_RATE_LIMIT", login_keys(email))`."""
    device = known_device(email)
    return [address_key(), f"device:{device}" if device else "account:" + email[:EMAIL_MAX]]
