"""Fixtures for the analytics tests that drive a browser against pytest-django's live server."""

from __future__ import annotations

import pytest

from yanglao.core.browser import open_page


@pytest.fixture
def browser_page():
    """A page in a fresh context of a headless Debian Chromium (skips loudly when it is missing)."""
    with open_page() as page:
        yield page


@pytest.fixture
def tianjin(transactional_db):
    """Tianjin's divisions, committed where the live server's thread sees them.

    live_server tests are transactional: the database is flushed after each one, taking the regions
    the session loaded with it, so each test loads them again (a no-op when they are still there)."""
    from yanglao.core.testing import ensure_tianjin

    ensure_tianjin()
