"""The ASGI application the web server runs (uvicorn): HTTP reaches Django through Channels' router.

asgiref's communicator is used directly: channels.testing imports daphne, which the platform does not
need (uvicorn serves it)."""

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

from config.asgi import application


def scope(kind: str, path: str) -> dict:
    return {
        "type": kind,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"origin", b"http://localhost")],
        "method": "GET",
        "scheme": "ws" if kind == "websocket" else "http",
        "http_version": "1.1",
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "subprotocols": [],
    }


@pytest.mark.django_db(transaction=True)
def test_http_requests_reach_django_through_the_asgi_application():
    async def call():
        communicator = ApplicationCommunicator(application, scope("http", "/api/v1/health"))
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await communicator.receive_output(10)
        body = await communicator.receive_output(10)
        return start, body

    start, body = async_to_sync(call)()
    assert start["status"] in (200, 503)  # 503 here: no worker has run in this test
    assert b'"checks"' in body["body"]
