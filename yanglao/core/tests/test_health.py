from datetime import timedelta

import pytest
from django.utils import timezone

from yanglao.core.models import WorkerHeartbeat
from yanglao.core.testing import require_service


def beat(seconds_ago: float) -> None:
    WorkerHeartbeat.objects.create(worker="test:1", seen_at=timezone.now() - timedelta(seconds=seconds_ago))


def test_health_is_ok_with_a_fresh_worker_heartbeat_and_needs_no_login(db, client):
    beat(5)
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) >= {"database", "worker", "channel_layer"}
    assert body["checks"]["worker"]["status"] == "ok"
    assert body["checks"]["channel_layer"]["status"] == "ok"


def test_a_stale_worker_makes_the_platform_degraded_with_503(db, client, settings):
    beat(3 * settings.WORKER_HEARTBEAT_SECONDS + 10)
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["status"] == "stale"


def test_no_worker_ever_is_reported_as_an_error(db, client):
    body = client.get("/api/v1/health").json()
    assert body["checks"]["worker"]["status"] == "error"
    assert "no worker" in body["checks"]["worker"]["error"]


@pytest.mark.services
def test_redis_is_checked_when_configured_and_the_channel_layer_goes_through_it(db, client, settings):
    url = "redis://127.0.0.1:6379/0"
    require_service("Redis", url)
    settings.REDIS_URL = url
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    beat(1)
    try:
        body = client.get("/api/v1/health").json()
    finally:
        channel_layers.backends.clear()
    assert body["checks"]["redis"]["status"] == "ok"
    assert body["checks"]["channel_layer"] == {
        **body["checks"]["channel_layer"],
        "status": "ok",
        "backend": "RedisChannelLayer",
    }


@pytest.mark.services
def test_mqtt_is_checked_when_configured(db, client, settings):
    url = "mqtt://127.0.0.1:1883"
    require_service("Mosquitto (MQTT)", url)
    settings.MQTT_URL = url
    beat(1)
    body = client.get("/api/v1/health").json()
    assert body["checks"]["mqtt"]["status"] == "ok"


def test_an_unreachable_configured_service_is_an_error_not_a_crash(db, client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    beat(1)
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["status"] == "error"
