"""The platform's own device message format (docs/devices.md), one JSON object per message:

    {"id": "SN123-000042", "serial": "SN123", "type": "blood_pressure",
     "at": "2026-11-22T08:15:00+08:00", "battery": 87,
     "data": {"systolic": 186, "diastolic": 112, "pulse": 80}}

- `id`: unique per message (1–80 characters); a message delivered again with the same id is ignored;
- `serial`: the device's serial as registered; `type`: one of enums.EventType;
- `at`: ISO 8601 time the event happened (a time without an offset is read as local time);
- `battery` (optional): 0–100; `data` (optional): the numbers the type carries (FIELDS).

`parse` checks one message and returns a Parsed tuple, or raises BadMessage naming the field; vendor
adapters (adapters/<vendor>) turn other shapes into this one before it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from yanglao.monitoring.enums import EventType

# The numbers each type carries in `data`, in the order they are stored (Reading.value1..3).
FIELDS: dict[str, tuple[str, ...]] = {
    EventType.SOS: (),
    EventType.FALL: (),
    EventType.SMOKE: ("level",),
    EventType.GAS: ("level",),
    EventType.MOTION: ("count",),
    EventType.DOOR: ("open",),
    EventType.BED: ("in_bed",),
    EventType.BLOOD_PRESSURE: ("systolic", "diastolic", "pulse"),
    EventType.HEART_RATE: ("bpm",),
    EventType.WATER: ("litres", "flow_lpm"),  # litres: the meter's running total
    EventType.ELECTRICITY: ("kwh", "watts"),  # kwh: the meter's running total
    EventType.GAS_USAGE: ("m3",),
    EventType.HEARTBEAT: (),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    EventType.BLOOD_PRESSURE: ("systolic", "diastolic"),
    EventType.WATER: ("litres",),
    EventType.ELECTRICITY: ("kwh",),
    EventType.HEART_RATE: ("bpm",),
}
# A device clock ahead of ours by more than this is wrong, not early.
FUTURE_SLACK = timedelta(minutes=10)


class BadMessage(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Parsed:
    message_id: str
    serial: str
    type: str
    at: datetime
    battery: int | None
    values: tuple[float | None, float | None, float | None]


def _text(message: dict[str, Any], field: str, longest: int) -> str:
    value = message.get(field)
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise BadMessage(field, "missing or not a string")
    text = str(value).strip()
    if not 1 <= len(text) <= longest:
        raise BadMessage(field, f"must be 1 to {longest} characters")
    return text


def _time(raw: Any, now: datetime) -> datetime:
    if not isinstance(raw, str):
        raise BadMessage("at", "missing or not an ISO 8601 string")
    try:
        moment = parse_datetime(raw)
    except ValueError:
        moment = None
    if moment is None:
        raise BadMessage("at", f"not an ISO 8601 time: {raw[:40]!r}")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment - now > FUTURE_SLACK:
        raise BadMessage("at", "in the future (check the device clock)")
    return moment


def _number(data: dict[str, Any], name: str) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if not isinstance(value, int | float):
        raise BadMessage(f"data.{name}", "not a number")
    return float(value)


def parse(message: Any, *, now: datetime | None = None) -> Parsed:
    """One message in the native format, checked; raises BadMessage naming the field."""
    if isinstance(message, bytes | str):
        try:
            message = json.loads(message)
        except (ValueError, UnicodeDecodeError):
            raise BadMessage("message", "not JSON") from None
    if not isinstance(message, dict):
        raise BadMessage("message", "not a JSON object")
    now = now or timezone.now()
    kind = message.get("type")
    if kind not in FIELDS:
        raise BadMessage("type", f"unknown type {str(kind)[:30]!r}")
    data = message.get("data") or {}
    if not isinstance(data, dict):
        raise BadMessage("data", "not an object")
    names = FIELDS[kind]
    values = [_number(data, name) for name in names]
    for name in REQUIRED.get(kind, ()):
        if data.get(name) is None:
            raise BadMessage(f"data.{name}", f"required for {kind}")
    battery = message.get("battery")
    if battery is not None:
        if isinstance(battery, bool) or not isinstance(battery, int | float) or not 0 <= battery <= 100:
            raise BadMessage("battery", "must be a number from 0 to 100")
        battery = int(battery)
    values += [None] * (3 - len(values))
    return Parsed(
        message_id=_text(message, "id", 80),
        serial=_text(message, "serial", 64),
        type=kind,
        at=_time(message.get("at"), now),
        battery=battery,
        values=(values[0], values[1], values[2]),
    )
