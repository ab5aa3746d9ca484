"""Shared fixtures for the content-stage tests."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def seed() -> Path:
    """The shipped example article (a copy of the product's seed)."""
    return FIXTURES / "glute-activation-article.txt"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
