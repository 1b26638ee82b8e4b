"""Fixtures of the outbox's tests: a real HTTP gateway on 127.0.0.1 and a gateway that records sends."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from yanglao.notifications import services

MOBILE = "13812345678"


@pytest.fixture
def enqueue(db):
    """enqueue(**overrides): notification_enqueue with an SMS to a test mobile by default."""

    def make(**overrides: Any):
        arguments = {"channel": "sms", "to": MOBILE, "body": "您好，这是一条测试通知。"}
        arguments.update(overrides)
        return services.notification_enqueue(**arguments)

    return make


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=lambda: {"id": "msg-1"})
    delay: float = 0.0


class FakeGatewayServer:
    """An HTTP server in a thread that records each POST and answers from a script of answers (the
    last one repeats)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[Answer] = [Answer()]
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                server.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(raw or b"null")}
                )
                answer = server.answers.pop(0) if len(server.answers) > 1 else server.answers[0]
                time.sleep(answer.delay)
                data = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                if 300 <= answer.status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        # A client that timed out has gone when the slow answer is written; that is the point.
        self.httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1/messages"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, *answers: Answer) -> None:
        self.answers = list(answers)


@pytest.fixture
def http_gateway(settings):
    """The HTTP gateway configured against a real server on 127.0.0.1, with a short timeout."""
    server = FakeGatewayServer()
    server.thread.start()
    settings.YANGLAO_NOTIFY_GATEWAY = "http"
    settings.YANGLAO_NOTIFY_HTTP_URL = server.url
    settings.YANGLAO_NOTIFY_HTTP_TOKEN = "test-token-123"
    settings.YANGLAO_NOTIFY_HTTP_TIMEOUT = 0.5
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


class RecordingGateway:
    """Records what it sends (thread-safe); `fail_with` makes every send raise that error instead."""

    name = "recording"

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.lock = threading.Lock()
        self.fail_with: Exception | None = None
        self.pause = 0.0

    def send(self, notification) -> str:
        if self.pause:
            time.sleep(self.pause)
        if self.fail_with is not None:
            raise self.fail_with
        with self.lock:
            self.sent.append(notification.uid)
            return f"rec-{len(self.sent)}"


@pytest.fixture
def recording_gateway(monkeypatch):
    gateway = RecordingGateway()
    monkeypatch.setattr(services, "gateway_for", lambda channel: gateway)
    return gateway
