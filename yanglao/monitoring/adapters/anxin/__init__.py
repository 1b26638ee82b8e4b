"""安心 (Anxin) home-care devices: SOS buttons, fall and smoke/gas detectors, blood-pressure monitors,
wristbands. The vendor's cloud (or the device itself) sends one JSON envelope per event, or a JSON array
of envelopes:

    {"deviceId": "AX8800123", "msgId": "6f1e2c0a9b", "ts": 1795306500000, "event": "BP_RESULT",
     "data": {"sbp": 186, "dbp": 112, "hr": 80}, "电量": 87}

- ``deviceId``: the device's serial as registered on the platform;
- ``msgId``: the vendor's message id (unique per device and message, kept across retries): the native id
  is ``anxin-<msgId>`` (at most 80 characters in all);
- ``ts``: when it happened, epoch **milliseconds** (UTC);
- ``event``: the vendor's event code, see EVENTS; readings in ``data``;
- ``电量``: battery percentage, at the top level or in ``data``, a number or a string like "87%".

Event codes and what they become (native type: vendor field -> native field):

    SOS_ALARM   -> sos                    FALL_ALARM -> fall
    SMOKE_ALARM -> smoke (concentration -> level)
    GAS_ALARM   -> gas   (concentration -> level)
    BP_RESULT   -> blood_pressure (sbp -> systolic, dbp -> diastolic, hr -> pulse)
    HR_RESULT   -> heart_rate (hr -> bpm)
    BODY_MOVE   -> motion (times -> count)
    DOOR_STATE  -> door (state "open" / "close" -> open 1 / 0)
    HEARTBEAT, LOW_BATTERY -> heartbeat (the battery it reports drives the low-battery rule)
"""

from __future__ import annotations

import re
from typing import Any

from yanglao.monitoring.adapters import (
    AdapterError,
    Translation,
    iso_from_epoch,
    load_json,
    number,
)

CODE = "anxin"
URGENT = re.compile(rb"(?:SOS|FALL|SMOKE|GAS)_ALARM")  # taken ahead of the rest (adapters' docstring)
PREFIX = "anxin-"
BATTERY = "电量"

# event -> (native type, {vendor field in data: native field})
EVENTS: dict[str, tuple[str, dict[str, str]]] = {
    "SOS_ALARM": ("sos", {}),
    "FALL_ALARM": ("fall", {}),
    "SMOKE_ALARM": ("smoke", {"concentration": "level"}),
    "GAS_ALARM": ("gas", {"concentration": "level"}),
    "BP_RESULT": ("blood_pressure", {"sbp": "systolic", "dbp": "diastolic", "hr": "pulse"}),
    "HR_RESULT": ("heart_rate", {"hr": "bpm"}),
    "BODY_MOVE": ("motion", {"times": "count"}),
    "DOOR_STATE": ("door", {}),
    "HEARTBEAT": ("heartbeat", {}),
    "LOW_BATTERY": ("heartbeat", {}),
}


def _battery(envelope: dict[str, Any], data: dict[str, Any]) -> float | int | None:
    raw = envelope.get(BATTERY, data.get(BATTERY))
    if isinstance(raw, str):
        raw = raw.strip().rstrip("%")
    return number(raw, field=BATTERY)


def _one(envelope: Any) -> dict[str, Any]:
    if not isinstance(envelope, dict):
        raise AdapterError("payload", "not a JSON object")
    msg_id = envelope.get("msgId")
    if not isinstance(msg_id, str | int) or isinstance(msg_id, bool) or not str(msg_id).strip():
        raise AdapterError("msgId", "missing")
    msg_id = str(msg_id).strip()
    if len(PREFIX) + len(msg_id) > 80:
        raise AdapterError("msgId", f"longer than {80 - len(PREFIX)} characters")
    serial = envelope.get("deviceId")
    if not isinstance(serial, str | int) or isinstance(serial, bool) or not str(serial).strip():
        raise AdapterError("deviceId", "missing")
    event = envelope.get("event")
    if event not in EVENTS:
        raise AdapterError("event", f"unknown event code {str(event)[:30]!r}")
    kind, fields = EVENTS[event]
    data = envelope.get("data") or {}
    if not isinstance(data, dict):
        raise AdapterError("data", "not an object")
    values: dict[str, Any] = {}
    for theirs, ours in fields.items():
        value = number(data.get(theirs), field=f"data.{theirs}")
        if value is not None:
            values[ours] = value
    if event == "DOOR_STATE":
        state = str(data.get("state", "")).lower()
        if state not in ("open", "close"):
            raise AdapterError("data.state", "must be 'open' or 'close'")
        values["open"] = 1 if state == "open" else 0
    message: dict[str, Any] = {
        "id": PREFIX + msg_id,
        "serial": str(serial).strip(),
        "type": kind,
        "at": iso_from_epoch(envelope.get("ts"), field="ts", milliseconds=True),
        "data": values,
    }
    battery = _battery(envelope, data)
    if battery is not None:
        message["battery"] = battery
    return message


def translate_all(payload: bytes | str | dict[str, Any] | list[Any]) -> Translation:
    body = load_json(payload)
    envelopes = body if isinstance(body, list) else [body]
    result = Translation()
    for index, envelope in enumerate(envelopes):
        try:
            result.messages.append(_one(envelope))
        except AdapterError as error:
            result.refuse(index, error)
    return result
