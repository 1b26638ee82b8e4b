"""Telemetry ingest: a batch of messages (from MQTT or HTTP, after any vendor adapter) stored and acted on
in one transaction, set-based (DOMAIN.md §8).

For a batch: parse each message (a bad one is refused alone, with its field named); find the devices
(cached by serial); insert the readings with ON CONFLICT (message_id) DO NOTHING RETURNING, so a message
delivered again is stored and acted on once; update the devices' last-seen time and battery; apply the
instant rules (SOS, fall, smoke, gas, blood pressure, low battery) to the readings actually inserted; and
raise or fold alarms, one open alarm per situation: the batch's situations that have an open alarm are
counted on it in one UPDATE … FROM (VALUES …) RETURNING, the others raised one by one.

A device's last-seen time is written when it moves by LAST_SEEN_STEP or more (or its battery changes): a
sensor reporting every few seconds would otherwise cost a row update per message, for a time that the
offline rule and the online rate read in hours. What this process wrote is remembered after commit.

The caller acknowledges the batch (MQTT) only after this returns, i.e. after the commit: a worker killed
mid-batch leaves the broker to deliver it again.

Rules that need time to pass (no motion, no water, water running, electricity, offline) run on a timer:
rules.py."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from yanglao.core import audit, policy
from yanglao.monitoring import events, policies
from yanglao.monitoring.enums import (
    OPEN_ALARM_STATUSES,
    RULE_SEVERITY,
    DeviceStatus,
    EventType,
    Rule,
)
from yanglao.monitoring.messages import BadMessage, Parsed, parse
from yanglao.monitoring.models import Alarm, AlarmAction, Device, ElderThreshold, Reading

log = logging.getLogger("yanglao.monitoring.ingest")

INSTANT: dict[str, str] = {
    EventType.SOS: Rule.SOS,
    EventType.FALL: Rule.FALL,
    EventType.SMOKE: Rule.SMOKE,
    EventType.GAS: Rule.GAS,
}
# A home's smoke or gas is the home's (one alarm per detector); SOS and falls are the person's.
PER_DEVICE = frozenset({Rule.SMOKE, Rule.GAS, Rule.BATTERY_LOW, Rule.OFFLINE, Rule.WATER_RUNNING})
ROWS_PER_STATEMENT = 1000  # 9 parameters a row: well inside SQLite's and PostgreSQL's limits
SITUATIONS_PER_STATEMENT = 300  # 3 parameters each
LAST_SEEN_STEP = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: int
    elder_id: int | None
    region_id: str
    kind: str
    active: bool


@dataclass
class Result:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    raised: list[int] = field(default_factory=list)
    folded: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "alarms_raised": len(self.raised),
            "alarms_folded": self.folded,
            "problems": self.problems[:50],
        }


# --- devices, cached by serial ----------------------------------------------------------------------
_devices: dict[str, tuple[float, DeviceInfo | None]] = {}
_cache_lock = threading.Lock()  # the devices, what was written for them, the thresholds
DEVICE_CACHE_SECONDS = 60.0


# device id → (last-seen time, battery) this process last wrote for it (after commit)
_written: dict[int, tuple[datetime, int | None]] = {}


def forget_devices() -> None:
    """Drop the caches (a device was registered, moved or retired in this process; tests)."""
    with _cache_lock:
        _devices.clear()
        _written.clear()
    forget_thresholds()


def devices_by_serial(serials: Iterable[str]) -> dict[str, DeviceInfo | None]:
    """The devices of these serials: from the cache when fresh, the rest in one query."""
    now = time.monotonic()
    wanted = set(serials)
    found: dict[str, DeviceInfo | None] = {}
    missing = []
    with _cache_lock:
        for serial in wanted:
            entry = _devices.get(serial)
            if entry is not None and now - entry[0] < DEVICE_CACHE_SECONDS:
                found[serial] = entry[1]
            else:
                missing.append(serial)
    if missing:
        rows = Device.objects.filter(serial__in=missing).values_list(
            "serial", "id", "elder_id", "region_id", "kind", "status"
        )
        loaded: dict[str, DeviceInfo | None] = dict.fromkeys(missing)
        for serial, pk, elder_id, region_id, kind, status in rows:
            loaded[serial] = DeviceInfo(pk, elder_id, region_id, kind, status == DeviceStatus.ACTIVE)
        with _cache_lock:
            for serial, info in loaded.items():
                _devices[serial] = (now, info)
        found.update(loaded)
    return found


# --- the batch ----------------------------------------------------------------------------------------
def _to_sqlite_time(moment: datetime) -> str:
    """What Django's SQLite backend stores for an aware datetime (UTC, naive, str()), without its
    per-call overhead: a batch adapts two times per message."""
    return str(moment.astimezone(UTC).replace(tzinfo=None))


def _to_postgres_time(moment: datetime) -> datetime:
    return moment  # psycopg sends an aware datetime as timestamptz


def time_adapter() -> Any:
    """The cheapest correct adaptation of an aware datetime for raw SQL on this connection."""
    return _to_sqlite_time if connection.vendor == "sqlite" else _to_postgres_time


def _parse_all(raw: Sequence[Any], result: Result, now: datetime) -> list[Parsed]:
    parsed = []
    for index, message in enumerate(raw):
        try:
            parsed.append(message if isinstance(message, Parsed) else parse(message, now=now))
        except BadMessage as error:
            result.rejected += 1
            result.problems.append({"index": index, "field": error.field, "problem": error.problem})
    return parsed


READING_COLUMNS = "message_id, device_id, elder_id, type, at, received_at, value1, value2, value3"
# PostgreSQL: the batch as nine arrays, one short statement (a VALUES list of a thousand rows is 9,000
# parameters for the server to parse and plan on every batch).
READING_ARRAYS = (
    "varchar[]",
    "bigint[]",
    "bigint[]",
    "varchar[]",
    "timestamptz[]",
    "timestamptz[]",
    "float8[]",
    "float8[]",
    "float8[]",
)


def _insert_readings(rows: list[tuple[Any, ...]]) -> set[str]:
    """Insert; return the message ids actually inserted (the others were delivered before)."""
    table = Reading._meta.db_table
    columns = READING_COLUMNS
    inserted: set[str] = set()
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{kind}" for kind in READING_ARRAYS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays})"  # noqa: S608 (ours)
                " ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
                [list(column) for column in zip(*rows, strict=True)],
            )
            return {row[0] for row in cursor.fetchall()}
    with connection.cursor() as cursor:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            params = [value for row in chunk for value in row]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {placeholders}"  # noqa: S608 (placeholders only)
                " ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
                params,
            )
            inserted.update(row[0] for row in cursor.fetchall())
    return inserted


def _worth_writing(latest: dict[int, tuple[datetime, int | None]]) -> dict[int, tuple[datetime, int | None]]:
    """The devices whose last-seen time moved by LAST_SEEN_STEP since this process last wrote it, or
    whose battery changed, or that it never wrote."""
    with _cache_lock:
        written = {pk: _written.get(pk) for pk in latest}
    due = {}
    for pk, (at, battery) in latest.items():
        before = written[pk]
        if (
            before is None
            or at - before[0] >= LAST_SEEN_STEP
            or (battery is not None and battery != before[1])
        ):
            due[pk] = (at, battery if battery is not None else (before[1] if before else None))
    return due


def _remember_written(due: dict[int, tuple[datetime, int | None]]) -> None:
    with _cache_lock:
        _written.update(due)


def _touch_devices(due: dict[int, tuple[datetime, int | None]]) -> None:
    """Each device's last-seen time (never moved back by a late message) and battery, one statement
    for the batch."""
    table = Device._meta.db_table
    adapt = time_adapter()
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET last_seen_at = %s, battery = COALESCE(%s, battery)"  # noqa: S608
            " WHERE id = %s AND (last_seen_at IS NULL OR last_seen_at < %s)",
            # In id order: two workers updating overlapping devices then lock rows in the same order, so
            # they wait for each other instead of deadlocking (PostgreSQL).
            [(adapt(at), battery, pk, adapt(at)) for pk, (at, battery) in sorted(due.items())],
        )


@dataclass
class Situation:
    rule: str
    device: DeviceInfo
    first: Parsed
    last: Parsed
    count: int = 1
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        if self.rule in PER_DEVICE or self.device.elder_id is None:
            return f"{self.rule}:d{self.device.id}"
        return f"{self.rule}:e{self.device.elder_id}"


THRESHOLDS_SECONDS = 60.0


class Thresholds:
    """The instant rules' thresholds: the city's values in force and every household's own values
    (ElderThreshold) for them, read together and kept by each process for THRESHOLDS_SECONDS (current());
    a change saved in this process is seen at once (forget_thresholds, on the models' signals), one made
    in another within that time."""

    KEYS = (policies.BP_SYSTOLIC, policies.BP_DIASTOLIC, policies.BATTERY_LOW)
    _current: tuple[float, Thresholds] | None = None

    def __init__(self) -> None:
        self.city = {setting.key: float(policy.value(setting)) for setting in self.KEYS}
        self.own: dict[tuple[int, str], float] = {
            (elder_id, key): value
            for elder_id, key, value in ElderThreshold.objects.filter(
                key__in=[setting.key for setting in self.KEYS]
            ).values_list("elder_id", "key", "value")
        }

    @classmethod
    def current(cls) -> Thresholds:
        now = time.monotonic()
        with _cache_lock:
            kept = cls._current
        if kept is not None and now - kept[0] < THRESHOLDS_SECONDS:
            return kept[1]
        fresh = cls()
        with _cache_lock:
            cls._current = (now, fresh)
        return fresh

    def get(self, setting: Any, elder_id: int | None) -> float:
        if elder_id is not None:
            own = self.own.get((elder_id, setting.key))
            if own is not None:
                return own
        return self.city[setting.key]


def forget_thresholds(**_signal: Any) -> None:
    with _cache_lock:
        Thresholds._current = None


def _situations(readings: list[tuple[Parsed, DeviceInfo]]) -> dict[str, Situation]:
    """The instant rules over the batch's new readings, folded by situation."""
    found: dict[str, Situation] = {}
    thresholds = Thresholds.current()

    def note(rule: str, message: Parsed, device: DeviceInfo, **detail: Any) -> None:
        situation = Situation(rule, device, message, message, detail=detail)
        existing = found.get(situation.key)
        if existing is None:
            found[situation.key] = situation
            return
        existing.count += 1
        if message.at < existing.first.at:
            existing.first = message
        if message.at >= existing.last.at:
            existing.last = message
            existing.detail = detail or existing.detail

    for message, device in readings:
        rule = INSTANT.get(message.type)
        if rule is not None:
            note(rule, message, device)
        elif message.type == EventType.BLOOD_PRESSURE:
            systolic, diastolic = message.values[0], message.values[1]
            high_s = thresholds.get(policies.BP_SYSTOLIC, device.elder_id)
            high_d = thresholds.get(policies.BP_DIASTOLIC, device.elder_id)
            if (systolic or 0) >= high_s or (diastolic or 0) >= high_d:
                note(
                    Rule.BLOOD_PRESSURE,
                    message,
                    device,
                    systolic=systolic,
                    diastolic=diastolic,
                    limits=[high_s, high_d],
                )
        if message.battery is not None:
            low = thresholds.get(policies.BATTERY_LOW, device.elder_id)
            if message.battery <= low:
                note(Rule.BATTERY_LOW, message, device, battery=message.battery, limit=low)
    return found


def summary_of(rule: str, detail: dict[str, Any]) -> str:
    label = str(Rule(rule).label)
    if rule == Rule.BLOOD_PRESSURE:
        return f"{label}：{detail.get('systolic'):.0f}/{detail.get('diastolic'):.0f} mmHg"
    if rule == Rule.BATTERY_LOW:
        return f"{label}：剩余 {detail.get('battery')}%"
    return label


def raise_or_fold(
    *,
    rule: str,
    situation: str,
    region_id: str,
    first_at: datetime,
    last_at: datetime,
    elder_id: int | None = None,
    device_id: int | None = None,
    count: int = 1,
    detail: dict[str, Any] | None = None,
    summary: str = "",
    actor: str = "ingest",
    fold_first: bool = True,
) -> tuple[Alarm | None, bool]:
    """One open alarm per situation: count this occurrence on the open one, or raise a new one. Returns
    (the new alarm or None, whether it was folded). Safe against a concurrent raise of the same situation
    (the partial unique index decides; the loser folds). fold_first=False: the caller has just tried the
    fold in this transaction (fold_into_open), so it is tried again only after losing such a race."""
    for attempt in range(2):
        if fold_first or attempt:
            folded = Alarm.objects.filter(situation=situation, status__in=OPEN_ALARM_STATUSES).update(
                message_count=F("message_count") + count, last_at=Greatest(F("last_at"), last_at)
            )
            if folded:
                return None, True
        try:
            with transaction.atomic():
                alarm = Alarm.objects.create(
                    rule=rule,
                    severity=RULE_SEVERITY[Rule(rule)],
                    situation=situation,
                    elder_id=elder_id,
                    device_id=device_id,
                    region_id=region_id,
                    summary=(summary or summary_of(rule, detail or {}))[:300],
                    detail=detail or {},
                    first_at=first_at,
                    last_at=last_at,
                    raised_at=timezone.now(),
                    message_count=count,
                )
                AlarmAction.objects.create(alarm=alarm, action="raise", actor_name=actor, at=alarm.raised_at)
                audit.record(actor, "alarm.raise", alarm, region_code=region_id, after={"rule": rule})
            return alarm, False
        except IntegrityError:
            continue  # raised by another worker a moment ago: fold into it
    return None, True


def fold_into_open(situations: Sequence[Situation]) -> dict[str, int]:
    """Count each situation's messages on its open alarm, one statement per SITUATIONS_PER_STATEMENT;
    returns {situation key: alarm id} of those that had one (the partial unique index allows at most
    one)."""
    table = Alarm._meta.db_table
    latest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    adapt = time_adapter()
    statuses = ", ".join(["%s"] * len(OPEN_ALARM_STATUSES))
    folded: dict[str, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(situations), SITUATIONS_PER_STATEMENT):
            chunk = situations[start : start + SITUATIONS_PER_STATEMENT]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            params: list[Any] = [v for s in chunk for v in (s.key, s.count, adapt(s.last.at))]
            cursor.execute(
                # VALUES columns are column1… on both databases.
                f"UPDATE {table} SET message_count = {table}.message_count + v.column2,"  # noqa: S608
                f" last_at = {latest}({table}.last_at, v.column3)"
                f" FROM (VALUES {values}) AS v"
                f" WHERE {table}.situation = v.column1 AND {table}.status IN ({statuses})"
                f" RETURNING {table}.situation, {table}.id",
                [*params, *OPEN_ALARM_STATUSES],
            )
            folded.update(cursor.fetchall())
    return folded


def _latest_per_device(fresh: list[tuple[Parsed, DeviceInfo]]) -> dict[int, tuple[datetime, int | None]]:
    """Each device's newest time and its newest battery report in the batch."""
    latest: dict[int, tuple[datetime, int | None]] = {}
    battery_at: dict[int, datetime] = {}
    for message, device in fresh:
        seen_at, battery = latest.get(device.id, (message.at, None))
        if message.battery is not None and message.at >= battery_at.get(device.id, message.at):
            battery, battery_at[device.id] = message.battery, message.at
        latest[device.id] = (max(seen_at, message.at), battery)
    return latest


def process(raw: Sequence[Any], *, received_at: datetime | None = None) -> Result:
    """Store and act on one batch of messages in one transaction (see the module's docstring)."""
    now = received_at or timezone.now()
    result = Result(received=len(raw))
    parsed = _parse_all(raw, result, now)
    if not parsed:
        return result
    devices = devices_by_serial(m.serial for m in parsed)
    rows: list[tuple[Any, ...]] = []
    known: list[tuple[Parsed, DeviceInfo]] = []
    seen: set[str] = set()
    adapt = time_adapter()
    received = adapt(now)
    for message in parsed:
        device = devices.get(message.serial)
        if device is None or not device.active:
            result.rejected += 1
            problem = "unknown device" if device is None else "device not active"
            result.problems.append({"id": message.message_id, "field": "serial", "problem": problem})
            continue
        if message.message_id in seen:
            result.duplicates += 1  # the same message twice in one batch
            continue
        seen.add(message.message_id)
        known.append((message, device))
        rows.append(
            (
                message.message_id,
                device.id,
                device.elder_id,
                message.type,
                adapt(message.at),
                received,
                *message.values,
            )
        )
    if not rows:
        return result
    # Worked out before the writing starts (one writer at a time on SQLite), for the usual case that
    # every message is new; worked out again below from those actually stored when some were not.
    latest = _latest_per_device(known)
    situations = list(_situations(known).values())
    with transaction.atomic():
        inserted = _insert_readings(rows)
        result.stored = len(inserted)
        result.duplicates += len(rows) - len(inserted)
        if len(inserted) < len(rows):
            fresh = [(m, d) for m, d in known if m.message_id in inserted]
            latest = _latest_per_device(fresh)
            situations = list(_situations(fresh).values())
        due = _worth_writing(latest)
        if due:
            _touch_devices(due)
        folded = fold_into_open(situations) if situations else {}
        result.folded = len(folded)
        for situation in situations:
            if situation.key in folded:
                continue
            alarm, was_folded = raise_or_fold(
                rule=situation.rule,
                situation=situation.key,
                region_id=situation.device.region_id,
                first_at=situation.first.at,
                last_at=situation.last.at,
                elder_id=situation.device.elder_id,
                device_id=situation.device.id,
                count=situation.count,
                detail={**situation.detail, "message_id": situation.first.message_id},
                fold_first=False,  # fold_into_open found no open alarm for it just now
            )
            if alarm is not None:
                result.raised.append(alarm.pk)
            result.folded += int(was_folded)  # raised a moment ago by another worker
        raised, folded_ids = list(result.raised), list(folded.values())
        if raised:
            transaction.on_commit(lambda: events.alarms_raised.send(sender=Alarm, alarm_ids=raised))
        if folded_ids:
            # The consoles show the growing counts: one push for the batch's folds.
            transaction.on_commit(
                lambda: events.alarm_changed.send(sender=Alarm, alarm_ids=folded_ids, action="fold")
            )
        # Remembered once committed: a batch rolled back (here or by an outer transaction) wrote nothing.
        transaction.on_commit(lambda: _remember_written(due))
    return result
