"""Vendor adapters turn each vendor's shape into native messages that ingest accepts: Anxin's JSON
envelopes (epoch milliseconds, event codes, 电量) and Jiahe's key=value lines (epoch seconds, one id per
reading); a bad reading is refused alone with its field named; an unknown vendor is refused by name."""

from datetime import UTC, datetime

import pytest

from yanglao.monitoring import adapters, ingest
from yanglao.monitoring.messages import parse
from yanglao.monitoring.models import Alarm, Device, Reading

T_MS = 1795306500000  # 2026-11-22T00:15:00Z, 08:15 in Beijing
T_S = T_MS // 1000


def test_anxin_blood_pressure_with_battery_becomes_a_native_message():
    payload = {
        "deviceId": "AX8800123",
        "msgId": "6f1e2c0a9b",
        "ts": T_MS,
        "event": "BP_RESULT",
        "data": {"sbp": 186, "dbp": "112", "hr": 80},
        "电量": "87%",
    }
    (message,) = adapters.translate("anxin", payload)
    assert message == {
        "id": "anxin-6f1e2c0a9b",
        "serial": "AX8800123",
        "type": "blood_pressure",
        "at": "2026-11-22T00:15:00+00:00",
        "data": {"systolic": 186, "diastolic": 112, "pulse": 80},
        "battery": 87,
    }
    parsed = parse(message, now=datetime(2026, 11, 23, tzinfo=UTC))
    assert parsed.values == (186.0, 112.0, 80.0) and parsed.battery == 87


def test_anxin_accepts_bytes_and_arrays_and_refuses_a_bad_envelope_alone():
    body = (
        b'[{"deviceId": "AX1", "msgId": 1, "ts": 1795306500000, "event": "SOS_ALARM"},'
        b' {"deviceId": "AX1", "msgId": 2, "ts": 1795306500000, "event": "TELEPORT"},'
        b' {"deviceId": "AX2", "msgId": 3, "ts": 1795306500000, "event": "DOOR_STATE", "data": {"state": "open"}}]'
    )
    translation = adapters.translate_all("anxin", body)
    assert [(m["id"], m["type"], m["data"]) for m in translation.messages] == [
        ("anxin-1", "sos", {}),
        ("anxin-3", "door", {"open": 1}),
    ]
    assert translation.problems == [
        {"index": 1, "field": "event", "problem": "unknown event code 'TELEPORT'"}
    ]
    with pytest.raises(adapters.AdapterError) as refused:
        adapters.translate("anxin", body)
    assert refused.value.field == "event"


@pytest.mark.parametrize(
    ("envelope", "field"),
    [
        ({"deviceId": "AX1", "ts": T_MS, "event": "SOS_ALARM"}, "msgId"),
        ({"msgId": "m", "ts": T_MS, "event": "SOS_ALARM"}, "deviceId"),
        ({"deviceId": "AX1", "msgId": "m", "ts": "yesterday", "event": "SOS_ALARM"}, "ts"),
        (
            {"deviceId": "AX1", "msgId": "m", "ts": T_MS, "event": "BP_RESULT", "data": {"sbp": "high"}},
            "data.sbp",
        ),
        ({"deviceId": "AX1", "msgId": "m" * 80, "ts": T_MS, "event": "SOS_ALARM"}, "msgId"),
    ],
)
def test_anxin_names_the_field_it_cannot_read(envelope, field):
    with pytest.raises(adapters.AdapterError) as refused:
        adapters.translate("anxin", envelope)
    assert refused.value.field == field


def test_jiahe_lines_become_one_message_per_reading_each_with_its_own_id():
    body = (
        "# gateway JH-GW-0042\n"
        f"gw=JH-GW-0042;dev=JH-BP-0007;seq=1043;t={T_S};type=bp;sys=186;dia=112;pr=80;bat=87\n"
        "\n"
        f"dev=JH-SOS-0001;seq=77;t={T_S};type=sos;bat=55\r\n"
        f"dev=JH-WM-0003;seq=9001;t={T_S};type=water;l=1234.5;f=0\n"
    ).encode()
    messages = adapters.translate("jiahe", body)
    assert [(m["id"], m["serial"], m["type"], m["data"], m.get("battery")) for m in messages] == [
        (
            "jiahe-JH-BP-0007-1043",
            "JH-BP-0007",
            "blood_pressure",
            {"systolic": 186, "diastolic": 112, "pulse": 80},
            87,
        ),
        ("jiahe-JH-SOS-0001-77", "JH-SOS-0001", "sos", {}, 55),
        ("jiahe-JH-WM-0003-9001", "JH-WM-0003", "water", {"litres": 1234.5, "flow_lpm": 0}, None),
    ]
    assert {m["at"] for m in messages} == {"2026-11-22T00:15:00+00:00"}


def test_jiahe_refuses_a_bad_line_alone_and_names_the_key():
    body = f"dev=JH-1;seq=1;t={T_S};type=sos\ndev=JH-1;seq=2;t={T_S};type=warp\nnonsense\ndev=JH-1;t={T_S};type=hb"
    translation = adapters.translate_all("jiahe", body)
    assert [m["id"] for m in translation.messages] == ["jiahe-JH-1-1"]
    assert [(p["index"], p["field"]) for p in translation.problems] == [(1, "type"), (2, "line"), (3, "seq")]


def test_an_unknown_vendor_is_refused_naming_the_known_ones():
    with pytest.raises(adapters.UnknownVendor) as refused:
        adapters.translate("acme", b"{}")
    assert refused.value.field == "vendor"
    assert "acme" in refused.value.problem and "anxin, jiahe" in refused.value.problem
    assert adapters.vendors() == ["anxin", "jiahe"]


def test_translated_messages_are_stored_and_acted_on_like_native_ones(devices, elder):
    Device.objects.filter(serial="SOS-0001").update(serial="AX-SOS-1")
    Device.objects.filter(serial="BP-0001").update(serial="JH-BP-1")
    ingest.forget_devices()
    now_ms = int(datetime.now(tz=UTC).timestamp() * 1000)
    anxin = adapters.translate(
        "anxin", {"deviceId": "AX-SOS-1", "msgId": "a1", "ts": now_ms, "event": "SOS_ALARM", "电量": 90}
    )
    jiahe = adapters.translate("jiahe", f"dev=JH-BP-1;seq=5;t={now_ms // 1000};type=bp;sys=190;dia=100")
    result = ingest.process(anxin + jiahe + anxin)
    assert (result.stored, result.duplicates, len(result.raised)) == (2, 1, 2)
    assert set(Alarm.objects.values_list("rule", flat=True)) == {"sos", "blood_pressure"}
    assert set(Reading.objects.values_list("message_id", flat=True)) == {"anxin-a1", "jiahe-JH-BP-1-5"}
