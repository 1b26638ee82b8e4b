"""Checks behind GET /api/v1/health: each returns {"status": "ok"|"error"|"stale", …}."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.utils import timezone

from yanglao.core.models import WorkerHeartbeat


def _timed(check) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    try:
        result = check()
    except Exception as error:  # a health check reports every failure instead of raising it
        result = {"status": "error", "error": f"{type(error).__name__}: {error}"}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": "ok", "vendor": connection.vendor}


def worker() -> dict[str, Any]:
    """Fresh when a worker ran the scheduler's heartbeat job within three heartbeat intervals."""
    beat = WorkerHeartbeat.objects.order_by("-seen_at").first()
    if beat is None:
        return {"status": "error", "error": "no worker has run a job yet (is `yanglao serve` running?)"}
    age = (timezone.now() - beat.seen_at).total_seconds()
    limit = 3 * settings.WORKER_HEARTBEAT_SECONDS
    return {
        "status": "ok" if age <= limit else "stale",
        "last_seen_seconds": round(age, 1),
        "limit_seconds": limit,
        "worker": beat.worker,
    }


def channel_layer() -> dict[str, Any]:
    """Send a message to a fresh channel and read it back."""
    layer = get_channel_layer()

    async def round_trip() -> bool:
        channel = await layer.new_channel()
        token = uuid.uuid4().hex
        await layer.send(channel, {"type": "health.ping", "token": token})
        message = await layer.receive(channel)
        return message.get("token") == token

    ok = async_to_sync(round_trip)()
    return {"status": "ok" if ok else "error", "backend": type(layer).__name__}


def redis() -> dict[str, Any]:
    import redis as redis_client

    client = redis_client.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return {"status": "ok"}


def mqtt() -> dict[str, Any]:
    import paho.mqtt.client as paho

    parts = urlsplit(settings.MQTT_URL)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"yanglao-health-{uuid.uuid4().hex[:8]}")
    if parts.username:
        client.username_pw_set(parts.username, parts.password)
    if parts.scheme == "mqtts":
        client.tls_set()
    default_port = 8883 if parts.scheme == "mqtts" else 1883
    code = client.connect(parts.hostname or "127.0.0.1", parts.port or default_port, keepalive=10)
    client.disconnect()
    return {"status": "ok" if code == 0 else "error", "code": int(code)}


def report() -> dict[str, Any]:
    checks: dict[str, Any] = {
        "database": _timed(database),
        "worker": _timed(worker),
        "channel_layer": _timed(channel_layer),
    }
    if settings.REDIS_URL:
        checks["redis"] = _timed(redis)
    if settings.MQTT_URL:
        checks["mqtt"] = _timed(mqtt)
    healthy = all(check["status"] == "ok" for check in checks.values())
    return {"status": "ok" if healthy else "degraded", "time": timezone.now(), "checks": checks}
