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
def browser_page():
    """A page in a fresh context of a headless Debian Chromium (skips loudly when it is missing)."""
    from yanglao.core.browser import open_page

    with open_page() as page:
        yield page


@pytest.fixture
def tianjin(transactional_db):
    """Tianjin's divisions, committed where a live server's thread sees them.

    live_server tests are transactional: the database is flushed after each one, taking the regions
    the session loaded with it, so each test loads them again (a no-op when they are still there)."""
    from yanglao.core.testing import ensure_tianjin

    ensure_tianjin()


@pytest.fixture
def live_cast(tianjin, transactional_db, cast):
    """The cast, created after the regions and committed, so a live server sees them."""
    return cast


@pytest.fixture
def make_elder(db):
    """make_elder(region="120101001001", born=…, male=…, **facts): an elder registered by a test job."""
    from datetime import date

    from yanglao.core.testing import make_id
    from yanglao.registry import services

    def make(region: str = "120101001001", *, born: date = date(1940, 5, 17), male: bool = True, **facts):
        facts.setdefault("name", "张建国")
        facts.setdefault("id_number", make_id(region[:6], born, male))
        return services.elder_register(actor="tests", residence_region=region, **facts)

    return make
