"""Gateways: what actually hands a message to an SMS, voice, push or e-mail provider.

A gateway has a `name` (recorded on the notification) and one method, `send(notification) -> str`,
that returns the provider's message id or raises GatewayError saying whether trying again may help.
`gateway_for(channel)` picks the configured one (YANGLAO_NOTIFY_GATEWAY); docs/notifications.md
describes the HTTP contract a city's messaging platform implements.
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.request
import uuid
from typing import TYPE_CHECKING, Protocol

from django.conf import settings

if TYPE_CHECKING:
    from yanglao.notifications.models import Notification

logger = logging.getLogger("yanglao.notifications")

# Enough for any sensible answer; a misbehaving gateway cannot make the worker read without end.
MAX_ANSWER_BYTES = 64 * 1024
# 408 (the gateway timed out reading us) and 429 (slow down) are the client errors that pass with time.
RETRYABLE_CLIENT_ERRORS = frozenset({408, 429})


class GatewayError(Exception):
    """Sending failed. `retry` says whether the same message may succeed later (the provider was down,
    slow or busy) or never will (refused as malformed, unknown recipient, bad credentials)."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry


class Gateway(Protocol):
    name: str

    def send(self, notification: Notification) -> str: ...


class LogGateway:
    """The embedded default: one log line per message instead of a provider. The line names the
    recipient masked and leaves out the text (it may name a person); the admin shows the whole message."""

    name = "log"

    def send(self, notification: Notification) -> str:
        message_id = f"log-{uuid.uuid4().hex}"
        logger.info(
            "notification %s %s to %s ref=%r priority=%s body=%d chars -> %s",
            notification.uid,
            notification.channel,
            notification.masked_recipient,
            notification.reference,
            notification.priority,
            len(notification.body),
            message_id,
        )
        return message_id


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would carry the bearer token and the message to another address; the configured URL
    # must be the final one.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


class HttpGateway:
    """POSTs each message as JSON to a messaging platform (the city's SMS/voice/push hub) with a bearer
    token. 2xx: sent, the answer's "id" or "message_id" is the provider's id; 408, 429, 5xx, timeouts
    and unreachable hosts: tried again later; any other answer: failed at once."""

    name = "http"

    def __init__(self, url: str, token: str = "", timeout: float = 5) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def payload(self, notification: Notification) -> dict[str, str]:
        return {
            "channel": notification.channel,
            "to": notification.recipient,
            "subject": notification.subject,
            "body": notification.body,
            "reference": notification.reference,
            "id": str(notification.uid),
        }

    def send(self, notification: Notification) -> str:
        headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310 - settings accept only http(s) URLs
            self.url,
            data=json.dumps(self.payload(notification), ensure_ascii=False).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, answer = response.status, response.read(MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as error:
            detail = _error_detail(_read_and_close(error))
            retry = error.code >= 500 or error.code in RETRYABLE_CLIENT_ERRORS
            raise GatewayError(f"HTTP {error.code}{detail}", retry=retry) from None
        except urllib.error.URLError as error:
            # Refused, unreachable, DNS, TLS, or a timeout while connecting: the gateway may be back later.
            if isinstance(error.reason, TimeoutError):
                raise GatewayError(f"no answer within {self.timeout:g} s", retry=True) from None
            raise GatewayError(f"cannot reach the gateway: {error.reason}", retry=True) from None
        except TimeoutError:
            raise GatewayError(f"no answer within {self.timeout:g} s", retry=True) from None
        except (OSError, http.client.HTTPException) as error:
            # Dropped mid-answer: the message may have gone out; the provider drops a repeat by its "id".
            raise GatewayError(f"connection failed: {type(error).__name__} {error}", retry=True) from None
        if not 200 <= status < 300:
            # 1xx never reaches here and 3xx is refused above; kept so no other status counts as sent.
            raise GatewayError(f"HTTP {status}", retry=False)
        return _message_id(answer, notification)


def _read_and_close(error: urllib.error.HTTPError) -> bytes:
    try:
        return error.read(MAX_ANSWER_BYTES) if error.fp is not None else b""
    except (OSError, http.client.HTTPException):
        return b""
    finally:
        error.close()


def _error_detail(answer: bytes) -> str:
    """The gateway's own explanation, short: its JSON "error"/"message", else the start of the text."""
    text = answer.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        text = str(data.get("error") or data.get("message") or text)
    return f": {text[:200]}" if text else ""


def _message_id(answer: bytes, notification: Notification) -> str:
    try:
        data = json.loads(answer or b"{}")
    except ValueError:
        data = None
    message_id = data.get("id") or data.get("message_id") if isinstance(data, dict) else None
    if not message_id:
        # The gateway took the message (2xx); sending it again because its answer lacks an id would
        # reach the person twice. Recorded as sent without the provider's id.
        logger.warning("notification %s: gateway answered 2xx without an id", notification.uid)
        return ""
    return str(message_id)[:200]


def gateway_for(channel: str) -> Gateway:
    """The gateway that sends `channel` messages, as configured. Every channel uses the same one today;
    the argument lets an install route one channel elsewhere without changing the callers."""
    if settings.YANGLAO_NOTIFY_GATEWAY == "http":
        return HttpGateway(
            settings.YANGLAO_NOTIFY_HTTP_URL,
            token=settings.YANGLAO_NOTIFY_HTTP_TOKEN,
            timeout=settings.YANGLAO_NOTIFY_HTTP_TIMEOUT,
        )
    return LogGateway()
