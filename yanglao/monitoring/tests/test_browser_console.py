"""The operator console in a real browser against the real ASGI application (HTTP and WebSocket): an SOS
pressed at home appears on the open console within two seconds, without a reload, red, flashing and with
its sound; one click acknowledges it and the row says so.

pytest-django's live_server speaks WSGI only, so the test serves config.asgi:application with uvicorn in
a thread on 127.0.0.1 and a free port (static files come through whitenoise, as in development). The SOS
is processed in this process by ingest.process, run the way the web server runs a view (sync_to_async
on the server's event loop), so the in-memory channel layer carries the push to the console."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from playwright.sync_api import expect

from yanglao.core.browser import DEFAULT_LOCALE, DEFAULT_TIMEOUT_MS, launch_chromium, login
from yanglao.core.testing import PASSWORD
from yanglao.monitoring import ingest
from yanglao.monitoring.models import Alarm
from yanglao.monitoring.tests.conftest import message

pytestmark = [
    pytest.mark.browser,
    # whitenoise's static files under ASGI (see config/settings.py): noise here too.
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


SHOTS = os.environ.get("YANGLAO_SCREENSHOTS")  # a folder to keep screenshots in, when looking at layout


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


class AsgiServer:
    """uvicorn serving the platform's ASGI application in a thread of the test process."""

    def __init__(self) -> None:
        import uvicorn

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            "config.asgi:application", lifespan="off", log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, name="asgi-test-server", daemon=True)

    def _run(self) -> None:
        async def serve() -> None:
            self.loop = asyncio.get_running_loop()
            await self.server.serve(sockets=[self.socket])

        asyncio.run(serve())

    def start(self) -> AsgiServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the ASGI test server did not start")
            time.sleep(0.02)
        return self

    def call(self, function, *args, timeout: float = 15):
        """Run a synchronous function as the server runs a view: in its thread, from its event loop."""
        return asyncio.run_coroutine_threadsafe(sync_to_async(function)(*args), self.loop).result(timeout)

    def stop(self) -> None:
        # The server's database connections live in its sync thread; closed there, or PostgreSQL could
        # not drop the test database at the end of the session.
        try:
            self.call(connections.close_all)
        finally:
            self.server.should_exit = True
            self.thread.join(15)
            self.socket.close()


@pytest.fixture
def asgi_server(live_cast):
    # Each request runs in a thread of its own that ends with the request: its database connection is
    # closed at the end of the request (as Django's threaded live server does), not kept for reuse, or
    # PostgreSQL could not drop the test database at the end of the session.
    database = connections.settings["default"]
    kept = database.get("CONN_MAX_AGE", 0)
    database["CONN_MAX_AGE"] = 0
    server = AsgiServer().start()
    try:
        yield server
    finally:
        server.stop()
        database["CONN_MAX_AGE"] = kept


def test_an_sos_appears_on_the_open_console_and_is_acknowledged_with_one_click(
    asgi_server, live_cast, devices
):
    with launch_chromium() as chromium:
        context = chromium.new_context(locale=DEFAULT_LOCALE, viewport={"width": 1400, "height": 900})
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        page = context.new_page()
        login(page, asgi_server.url, live_cast.operator.username, PASSWORD)
        page.goto(f"{asgi_server.url}/monitoring/console/")
        expect(page.get_by_test_id("ws-state")).to_have_attribute("data-state", "open")
        expect(page.get_by_test_id("alarm-empty")).to_be_visible()
        page.get_by_test_id("sound-enable").click()
        expect(page.get_by_test_id("sound-toggle")).to_be_visible()

        pressed = time.monotonic()
        result = asgi_server.call(ingest.process, [message("SOS-0001", "sos")])
        (alarm_id,) = result.raised
        row = page.get_by_test_id(f"alarm-{alarm_id}")
        expect(row).to_be_visible(timeout=2000)
        shown = time.monotonic() - pressed
        assert shown < 2, f"the SOS took {shown:.2f} s to reach the console"
        expect(row).to_contain_text("一键呼叫")
        expect(row).to_contain_text("张建国")
        expect(row).to_have_class(lambda_class("sev-critical"))
        expect(page.get_by_test_id(f"status-{alarm_id}")).to_have_text("待响应")
        expect(page.get_by_test_id("console")).to_have_attribute("data-last-alert", "critical")
        expect(page.get_by_test_id("count-critical")).to_contain_text("1")
        expect(page.get_by_test_id("alarm-empty")).to_be_hidden()
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload

        shot(page, "console_alarm")

        page.get_by_test_id(f"acknowledge-{alarm_id}").click()
        expect(page.get_by_test_id(f"status-{alarm_id}")).to_have_text("已响应")
        expect(page.get_by_test_id(f"acknowledge-{alarm_id}")).to_have_count(0)
        expect(page.get_by_test_id("sl-answered")).to_have_text("1")
        alarm = Alarm.objects.get(pk=alarm_id)
        assert alarm.status == "acknowledged" and alarm.acknowledged_by_id == live_cast.operator.pk

        # Dispatch and resolve through the console's forms; the row leaves the list once resolved.
        page.get_by_test_id(f"dispatch-{alarm_id}").click()
        page.get_by_test_id("target-family").check()
        page.get_by_test_id("dispatch-submit").click()
        expect(page.get_by_test_id(f"status-{alarm_id}")).to_have_text("已派遣")
        expect(row).to_contain_text("通知家属")
        page.get_by_test_id(f"resolve-{alarm_id}").click()
        page.get_by_test_id("resolve-outcome").select_option("false_alarm")
        page.get_by_test_id("resolve-submit").click()
        expect(page.get_by_test_id("resolve-form")).to_contain_text("请填写处置说明")
        page.get_by_test_id("resolve-note").fill("老人误按，电话确认无事")
        page.get_by_test_id("resolve-submit").click()
        expect(row).to_have_count(0)
        expect(page.get_by_test_id("alarm-empty")).to_be_visible()
        shot(page, "console_empty")

        # Several alarms of one batch come in one frame: each gets its row, and the louder its sound.
        bp = {"systolic": 190, "diastolic": 95, "pulse": 80}
        both = asgi_server.call(
            ingest.process,
            [message("PIR-0001", "heartbeat", battery=5), message("BP-0001", "blood_pressure", data=bp)],
        )
        assert len(both.raised) == 2
        for raised_id in both.raised:
            expect(page.get_by_test_id(f"alarm-{raised_id}")).to_be_visible(timeout=2000)
        expect(page.get_by_test_id("console")).to_have_attribute("data-last-alert", "urgent")

        # The alarm's page: the elder's card with the map, and the whole history.
        page.goto(f"{asgi_server.url}/monitoring/alarms/{alarm_id}/")
        expect(page.get_by_test_id("elder-map")).to_have_attribute("data-ready", "1")
        expect(page.get_by_test_id("history-action")).to_have_text(["告警", "响应", "派遣", "处置完成"])
        expect(page.get_by_test_id("resolved")).to_contain_text("误报")
        shot(page, "alarm_page")
        context.close()
    alarm.refresh_from_db()
    assert (alarm.status, alarm.outcome) == ("resolved", "false_alarm")


def lambda_class(name: str):
    import re

    return re.compile(rf"(^|\s){name}(\s|$)")
