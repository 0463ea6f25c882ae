"""Helpers shared by the mdm_protocol tests: the captured device messages."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mdm-fixtures"


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


@pytest.fixture
def capture():
    """Read one captured message by its path under tests/fixtures/mdm-fixtures."""
    return fixture_bytes
