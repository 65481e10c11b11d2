"""Skip or fail: a test that cannot run here is skipped with its reason, except on CI."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def skip_or_fail(message: str) -> None:
    """Skip the test with `message`; on CI (`CI=true`) fail it, since CI must run everything."""
    if IN_CI:
        pytest.fail(message + " (CI must run this test)")
    pytest.skip(message)


def require(condition: bool, message: str) -> None:
    """`skip_or_fail(message)` unless `condition` holds."""
    if not condition:
        skip_or_fail(message)
