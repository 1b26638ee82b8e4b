"""Browser tests for any app: Debian's Chromium driven through Playwright's sync API.

    from yanglao.core.browser import login, open_page

    @pytest.fixture
    def browser_page():
        with open_page() as page:
            yield page

    def test_home(browser_page, live_server, transactional_db, cast):
        login(browser_page, live_server.url, "city_admin", PASSWORD)

Only the distribution's browser is used (/usr/bin/chromium, `apt-get install -y chromium`); the tests
never download one (`playwright install` is not part of the setup). Without it a browser test skips
loudly, or fails under CI / YANGLAO_REQUIRE_SERVICES=1.

Browser tests are transactional (pytest-django's live_server makes them so): the server runs in
another thread and sees only committed rows. Create what a test needs in fixtures that depend on
`transactional_db`, or in the test itself.

This module is in the lowest layer: it imports only Django, pytest, Playwright and yanglao.core, and
nothing here knows of users, roles or regions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connections
from django.urls import reverse

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# The pages pick their language from Accept-Language (LocaleMiddleware); a browser in Chinese sees
# the platform as a clerk does, whatever the machine's locale.
DEFAULT_LOCALE = "zh-CN"
# Milliseconds Playwright's auto-waiting allows for a page, a click or an expectation.
DEFAULT_TIMEOUT_MS = 10_000


def browser_required() -> bool:
    # The same rule as core/testing.services_required, restated so this module stays clear of the
    # layers above core.
    return bool(os.environ.get("CI")) or os.environ.get("YANGLAO_REQUIRE_SERVICES") == "1"


def require_chromium() -> None:
    """Skip loudly when Debian's Chromium is missing, or fail under CI / YANGLAO_REQUIRE_SERVICES=1."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return
    if browser_required():
        pytest.fail(
            f"Debian chromium is not installed at {CHROMIUM} (apt-get install -y chromium), "
            "and browser tests are required here (CI or YANGLAO_REQUIRE_SERVICES=1)"
        )
    pytest.skip("!!! SKIPPED: Debian chromium not installed (apt-get install -y chromium) !!!")


@contextmanager
def _async_unsafe_allowed() -> Iterator[None]:
    # Playwright's sync API runs an asyncio event loop in the test's own thread. Django's ORM refuses
    # to run while an event loop is running in the calling thread (SynchronousOnlyOperation), so the
    # test's own queries (fixtures, assertions, the transactional flush) would fail although they are
    # plain synchronous calls that never run inside the loop. The check is relaxed only while the
    # browser runs, and the previous value is put back afterwards.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@contextmanager
def launch_chromium(**launch_options: Any) -> Iterator[Browser]:
    """Yield a headless playwright Browser running /usr/bin/chromium; closed on exit."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with _async_unsafe_allowed(), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, **launch_options
        )
        try:
            yield browser
        finally:
            browser.close()
            # While Playwright's loop runs, Django keeps this thread's database connections apart
            # from its plain ones (asgiref's thread-critical Local switches to context-var storage
            # when an event loop is running), so every query the test made meanwhile went through a
            # second connection that pytest-django neither flushes through nor closes. Close it here,
            # while the loop still runs and that storage is the one in view; left open, it keeps
            # PostgreSQL from dropping the test database at the end of the session.
            connections.close_all()


@contextmanager
def open_page(
    *, locale: str = DEFAULT_LOCALE, timeout_ms: int = DEFAULT_TIMEOUT_MS, **context_options: Any
) -> Iterator[Page]:
    """Yield a Page in a fresh browser context (no cookies, no storage) of a freshly launched Chromium."""
    with launch_chromium() as browser:
        context = browser.new_context(locale=locale, **context_options)
        context.set_default_timeout(timeout_ms)
        context.set_default_navigation_timeout(timeout_ms)
        try:
            yield context.new_page()
        finally:
            context.close()


def login(page: Page, live_server_url: str, username: str, password: str) -> None:
    """Open the login page, fill in the form and submit it; returns once the next page has loaded.

    Whether the login succeeded is for the test to check (a wrong password stays on the login page)."""
    page.goto(live_server_url.rstrip("/") + reverse("accounts:login"))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    # The login form, not the language switch in the navbar, which is a form with buttons too.
    page.locator("form:has(#id_password) button[type=submit]").click()
    page.wait_for_load_state("load")
