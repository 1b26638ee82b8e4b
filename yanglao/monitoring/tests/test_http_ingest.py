"""POST /api/v1/ingest[/{vendor}] with a device token: 200 with the ingest result once committed; no or a
wrong token is 401; another device's serial is 403 naming "serial" with nothing stored; more than 1,000
messages or a body over 1 MiB is refused; vendor payloads go through their adapter; a message sent again is
a duplicate, not a second alarm."""

import json
from datetime import UTC, datetime

import pytest

from yanglao.monitoring import tokens
from yanglao.monitoring.models import Alarm, Device, Reading
from yanglao.monitoring.tests.conftest import message

URL = "/api/v1/ingest"


@pytest.fixture
def token(devices):
    return tokens.issue(devices["sos_button"])


def post(client, body, token=None, url=URL, raw=None, content_type="application/json"):
    headers = {"HTTP_AUTHORIZATION": f"Device {token}"} if token else {}
    data = raw if raw is not None else json.dumps(body)
    return client.post(url, data=data, content_type=content_type, **headers)


def test_a_device_posts_its_sos_and_gets_the_result(client, token):
    response = post(client, message("SOS-0001", "sos", battery=80), token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["received"], body["stored"], body["alarms_raised"], body["problems"]) == (1, 1, 1, [])
    assert Alarm.objects.get().rule == "sos"
    assert Device.objects.get(serial="SOS-0001").battery == 80


def test_a_message_without_serial_takes_the_devices_and_a_list_is_one_batch(client, token):
    first = message("SOS-0001", "heartbeat")
    del first["serial"]
    response = post(client, [first, message("SOS-0001", "sos")], token)
    assert response.json()["stored"] == 2
    assert Reading.objects.filter(device__serial="SOS-0001").count() == 2


def test_the_same_message_sent_again_is_a_duplicate_not_a_second_alarm(client, token):
    sos = message("SOS-0001", "sos")
    assert post(client, sos, token).json()["alarms_raised"] == 1
    again = post(client, [sos, sos], token).json()
    assert (again["stored"], again["duplicates"], again["alarms_raised"], again["alarms_folded"]) == (
        0,
        2,
        0,
        0,
    )
    assert Reading.objects.count() == 1 and Alarm.objects.get().message_count == 1


@pytest.mark.parametrize("header", [None, "Bearer yl_nothing", "Device dev_wrong", "Device ", "dev_x"])
def test_no_or_a_wrong_device_token_is_401_in_the_error_shape(client, devices, header):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.post(
        URL, data=json.dumps(message("SOS-0001", "sos")), content_type="application/json", **extra
    )
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "not_authenticated" and "设备令牌" in body["message"]
    assert Reading.objects.count() == 0


def test_another_devices_serial_is_403_naming_serial_and_stores_nothing(client, token):
    response = post(client, [message("SOS-0001", "sos"), message("BP-0001", "heartbeat")], token)
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "forbidden"
    assert body["details"][0]["field"] == "serial" and body["details"][0]["index"] == 1
    assert Reading.objects.count() == 0


def test_a_retired_device_is_refused(client, token):
    Device.objects.filter(serial="SOS-0001").update(status="removed")
    assert post(client, message("SOS-0001", "sos"), token).status_code == 403


def test_more_than_1000_messages_is_refused_naming_messages(client, token):
    response = post(client, [message("SOS-0001", "heartbeat") for _ in range(1001)], token)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "messages"
    assert Reading.objects.count() == 0


def test_a_body_over_1_mib_is_413(client, token):
    big = json.dumps([message("SOS-0001", "heartbeat", pad="x" * 2000) for _ in range(600)])
    assert len(big) > 1024 * 1024
    response = post(client, None, token, raw=big)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_not_json_is_400_and_a_bad_message_is_refused_alone(client, token):
    assert post(client, None, token, raw="{nope").status_code == 400
    body = post(client, [message("SOS-0001", "teleport"), message("SOS-0001", "heartbeat")], token).json()
    assert (body["stored"], body["rejected"], body["problems"][0]["field"]) == (1, 1, "type")


def test_a_vendor_payload_goes_through_its_adapter(client, devices):
    Device.objects.filter(serial="SOS-0001").update(serial="AX8800123")
    token = tokens.issue(Device.objects.get(serial="AX8800123"))
    now_ms = int(datetime.now(tz=UTC).timestamp() * 1000)
    envelopes = [
        {"deviceId": "AX8800123", "msgId": "m1", "ts": now_ms, "event": "SOS_ALARM", "电量": 70},
        {"deviceId": "AX8800123", "msgId": "m2", "ts": now_ms, "event": "NOPE"},
    ]
    response = post(client, envelopes, token, url=f"{URL}/anxin")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["received"], body["stored"], body["rejected"], body["alarms_raised"]) == (2, 1, 1, 1)
    assert body["problems"][0]["field"] == "event"
    assert Reading.objects.get().message_id == "anxin-m1"


def test_a_jiahe_line_payload_and_another_devices_line_is_refused(client, devices):
    Device.objects.filter(serial="SOS-0001").update(serial="JH-SOS-0001")
    token = tokens.issue(Device.objects.get(serial="JH-SOS-0001"))
    now = int(datetime.now(tz=UTC).timestamp())
    ok = post(
        client,
        None,
        token,
        url=f"{URL}/jiahe",
        raw=f"dev=JH-SOS-0001;seq=1;t={now};type=sos",
        content_type="text/plain",
    )
    assert ok.status_code == 200 and ok.json()["stored"] == 1
    other = post(
        client,
        None,
        token,
        url=f"{URL}/jiahe",
        raw=f"dev=BP-0001;seq=1;t={now};type=hb",
        content_type="text/plain",
    )
    assert other.status_code == 403 and other.json()["details"][0]["field"] == "serial"


def test_an_unknown_vendor_is_404_naming_the_known_ones(client, token):
    response = post(client, {}, token, url=f"{URL}/acme")
    assert response.status_code == 404
    assert "acme" in response.json()["message"] and "anxin" in response.json()["message"]


def test_the_endpoints_are_in_the_openapi_document_with_the_device_scheme(client, db):
    spec = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/ingest", "/api/v1/ingest/{vendor}"} <= set(spec["paths"])
    assert "DeviceToken" in spec["components"]["securitySchemes"]
