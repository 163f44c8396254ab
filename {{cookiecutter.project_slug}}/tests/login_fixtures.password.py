"""The password login's own fixtures."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def login_settings() -> dict[str, Any]:
    """What the password login adds to the test settings: nothing, its defaults serve."""
    return {}
