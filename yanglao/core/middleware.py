"""Request-scoped context (the client IP for the audit trail) and the mapping of domain errors raised
under a page view to a Chinese error page with the right status."""

from __future__ import annotations

import contextvars
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from yanglao.core.errors import DomainError

_client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)


def current_ip() -> str | None:
    return _client_ip.get()


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR is what the socket saw; behind the documented reverse proxy Django's
    # SECURE_PROXY_SSL_HEADER is set and the proxy's X-Real-IP carries the client.
    addr = request.META.get("HTTP_X_REAL_IP") if request.is_secure() else None
    return addr or request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _client_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _client_ip.reset(token)


class DomainErrorMiddleware:
    """A DomainError that escapes a page view becomes its status and a readable page, not a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError) or request.path.startswith("/api/"):
            return None
        template = {403: "403.html", 404: "404.html"}.get(exception.status, "core/error.html")
        return render(request, template, {"error": exception}, status=exception.status)
