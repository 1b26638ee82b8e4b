"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database holds Tianjin's real division codes, loaded once for the session."""
    from yanglao.core.testing import ensure_tianjin

    with django_db_blocker.unblock():
        ensure_tianjin()


@pytest.fixture
def cast(db):
    """One user per role (and a few in other regions), see core/testing.py."""
    from yanglao.core.testing import make_cast

    return make_cast()


@pytest.fixture
def api_client(client):
    """Django's test client; `api_client.get(url, HTTP_AUTHORIZATION="Bearer …")` for token calls."""
    return client
