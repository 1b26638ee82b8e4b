"""The rules that need time to pass (DOMAIN.md §8): no motion, no water, water running, electricity off
the household's own baseline, device offline. `evaluate` runs every five minutes (tasks.py); the instant
rules (SOS, fall, smoke, gas, blood pressure, low battery) are applied by ingest.py as messages arrive.

How a rule runs, the same for each:

1. one set-based query (ORM subqueries, or SQL with window functions where a reading must be compared
   with the one before it) finds the devices or elders in the situation, each with the moment the
   situation began (its *episode*: the last motion, the moment the water total last rose, ...). The
   query filters with the most lenient threshold in force anywhere (the city value or the smallest of
   the households' own values, ElderThreshold), so it returns a small superset of candidates;
2. each candidate is checked against its own household's threshold (one query loads them);
3. situations that already have an open alarm only have their `last_at` moved on (one UPDATE): one
   situation, one alarm, and no re-raise after the condition clears and returns while it is open;
4. an episode an operator has already resolved is not raised again (an elder who sits still after the
   operator's call does not ring the console every five minutes): the alarm's `first_at` is the
   episode's start, and a resolved alarm of the same situation and start means "handled";
5. the rest go through ingest.raise_or_fold (safe against a concurrent raise), and the ids raised are
   announced with events.alarms_raised after the commit.

Choices:

- NO_MOTION counts only daytime hours of silence: the hours between DAY_STARTS and DAY_ENDS (local time)
  since the last motion, across as many days as it spans, so a night's sleep never counts and a silence
  that began yesterday afternoon carries on this morning. The rule is evaluated only during daytime.
  Only elders living alone (registry: living_arrangement "alone") and on the register (status active),
  with an active motion sensor that has been heard from within OFFLINE_HOURS (a dead sensor is an
  OFFLINE alarm, not a silent elder), count. A motion message with `count` 0 is a report of no motion.
  An elder whose sensor never reported motion is silent since the sensor was registered.
- NO_WATER: the meter's running total (`litres`) has not risen for NO_WATER_HOURS; silence is counted
  from the first reading that showed the current total. Only meters heard from within OFFLINE_HOURS, of
  elders on the register (an elder in hospital uses no water) or of no elder.
- WATER_RUNNING: every reading of the current run shows water running (flow `flow_lpm` > 0, or, on a
  meter that sends no flow, a total higher than the reading before), and the run's readings span at
  least WATER_RUNNING_HOURS. Any home (a pipe bursts in an empty flat too). One alarm per meter.
- ELECTRICITY: yesterday's consumption (the difference between the last kwh totals of two consecutive
  local days) outside mean ± ELECTRICITY_DEVIATION × standard deviation (sample) of the household's
  own daily consumption over the ELECTRICITY_BASELINE_DAYS before it, with at least 7 such days. It
  compares whole days, so it runs once a day (tasks.electricity_daily) rather than every five minutes.
- OFFLINE: an active device not heard from for OFFLINE_HOURS, or never heard from since its install
  date (or its registration when no install date was recorded) plus OFFLINE_HOURS. One alarm per device.

Readings are taken as they are stored: a meter's total is taken to never go down (a replaced meter is a
new device), and a reading's time is the device's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    DateTimeField,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from yanglao.core import policy
from yanglao.core.policy import Setting
from yanglao.monitoring import events, policies
from yanglao.monitoring.enums import (
    OPEN_ALARM_STATUSES,
    AlarmStatus,
    DeviceKind,
    DeviceStatus,
    EventType,
    Rule,
)
from yanglao.monitoring.ingest import PER_DEVICE, raise_or_fold
from yanglao.monitoring.models import Alarm, Device, ElderThreshold, Reading
from yanglao.registry.enums import LivingArrangement
from yanglao.registry.enums import Status as ElderStatus
from yanglao.registry.models import Elder

log = logging.getLogger("yanglao.monitoring.rules")

ACTOR = "rules"
# The fewest days of baseline an electricity comparison needs (the policy's own minimum too).
MIN_BASELINE_DAYS = 7
# How far back NO_WATER and WATER_RUNNING look beyond their longest threshold in force.
LOOKBACK_MARGIN = timedelta(hours=6)
# Daytime silence is counted over at most this many days back (more is "longer than any threshold").
DAYTIME_HORIZON = timedelta(days=30)
# The rules of the five-minute run; ELECTRICITY compares whole days and runs once a day.
FREQUENT = (Rule.NO_MOTION, Rule.NO_WATER, Rule.WATER_RUNNING, Rule.OFFLINE)
ALL_RULES = (*FREQUENT, Rule.ELECTRICITY)
CHUNK = 500  # rows per IN (...) list: far inside both databases' parameter limits


def situation_key(rule: str, elder_id: int | None, device_id: int) -> str:
    """The same key ingest.Situation gives: per elder, or per device for the home's own devices."""
    if rule in PER_DEVICE or elder_id is None:
        return f"{rule}:d{device_id}"
    return f"{rule}:e{elder_id}"


class Limits:
    """One threshold: the city's value in force and the households' own values (ElderThreshold, same
    key). `low`/`high` are the most lenient and strictest values anywhere, for the queries' supersets."""

    def __init__(self, setting: Setting, *, on: date) -> None:
        self.setting = setting
        self.city = float(policy.value(setting, on=on))
        spread = ElderThreshold.objects.filter(key=setting.key).aggregate(low=Min("value"), high=Max("value"))
        self.low = min(self.city, spread["low"]) if spread["low"] is not None else self.city
        self.high = max(self.city, spread["high"]) if spread["high"] is not None else self.city
        self._own: dict[int, float] = {}

    def load(self, elder_ids: Iterable[int | None]) -> Limits:
        ids = sorted({i for i in elder_ids if i is not None})
        for chunk in _chunks(ids):
            self._own.update(
                ElderThreshold.objects.filter(key=self.setting.key, elder_id__in=chunk).values_list(
                    "elder_id", "value"
                )
            )
        return self

    def of(self, elder_id: int | None) -> float:
        if elder_id is not None and elder_id in self._own:
            return self._own[elder_id]
        return self.city


@dataclass
class Found:
    """A device or elder in a rule's situation, and since when (the episode's start)."""

    rule: str
    device_id: int
    elder_id: int | None
    region_id: str
    since: datetime
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return situation_key(self.rule, self.elder_id, self.device_id)


@dataclass
class Outcome:
    candidates: int = 0
    raised: list[int] = field(default_factory=list)
    still_open: int = 0
    handled: int = 0
    skipped: str = ""

    def as_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "candidates": self.candidates,
            "raised": len(self.raised),
            "still_open": self.still_open,
            "already_handled": self.handled,
        }
        if self.skipped:
            row["skipped"] = self.skipped
        return row


# --- helpers ------------------------------------------------------------------------------------------
def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _moment(value: Any) -> datetime | None:
    """A datetime from a raw query: PostgreSQL gives aware datetimes, SQLite gives UTC text."""
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and timezone.is_naive(value):
            return value.replace(tzinfo=UTC)
        return value
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise ValueError(f"not a time: {value!r}")
    return parsed.replace(tzinfo=UTC) if timezone.is_naive(parsed) else parsed


def _adapt(moment: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


def _hours_text(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def daytime_seconds(start: datetime, end: datetime, *, day_starts: int, day_ends: int) -> float:
    """Seconds between `start` and `end` that fall in daytime (local hours day_starts..day_ends)."""
    if end <= start or day_ends <= day_starts:
        return 0.0
    start = max(start, end - DAYTIME_HORIZON)
    total = 0.0
    day = timezone.localtime(start).date()
    last = timezone.localtime(end).date()
    while day <= last:
        midnight = _local_midnight(day)
        low = max(start, midnight + timedelta(hours=day_starts))
        high = min(end, midnight + timedelta(hours=day_ends))
        if high > low:
            total += (high - low).total_seconds()
        day += timedelta(days=1)
    return total


# --- raising ------------------------------------------------------------------------------------------
def _raise_all(rule: str, found: list[Found], now: datetime) -> Outcome:
    """Steps 3–5 of the module's docstring, for one rule's situations (inside the rule's transaction)."""
    outcome = Outcome(candidates=len(found))
    by_key: dict[str, Found] = {}
    for item in found:
        # Two meters of one elder in one per-elder situation: the shorter silence speaks for the elder.
        current = by_key.get(item.key)
        if current is None or item.since > current.since:
            by_key[item.key] = item
    keys = sorted(by_key)
    open_keys: set[str] = set()
    for chunk in _chunks(keys):
        open_keys.update(
            Alarm.objects.filter(situation__in=chunk, status__in=OPEN_ALARM_STATUSES).values_list(
                "situation", flat=True
            )
        )
        # Still going on: say so on the open alarm (not counted as a message: nothing was received).
        Alarm.objects.filter(situation__in=chunk, status__in=OPEN_ALARM_STATUSES).update(
            last_at=Greatest(F("last_at"), Value(now, output_field=DateTimeField()))
        )
    outcome.still_open = len(open_keys)
    rest = [by_key[k] for k in keys if k not in open_keys]
    handled: set[tuple[str, datetime]] = set()
    for chunk in _chunks(rest):
        handled.update(
            Alarm.objects.filter(
                situation__in=[f.key for f in chunk],
                status=AlarmStatus.RESOLVED,
                first_at__in=sorted({f.since for f in chunk}),
            ).values_list("situation", "first_at")
        )
    for item in rest:
        if (item.key, item.since) in handled:
            outcome.handled += 1
            continue
        alarm, _folded = raise_or_fold(
            rule=rule,
            situation=item.key,
            region_id=item.region_id,
            first_at=item.since,
            last_at=max(now, item.since),
            elder_id=item.elder_id,
            device_id=item.device_id,
            count=1,
            detail={**item.detail, "since": item.since.isoformat()},
            summary=item.summary,
            actor=ACTOR,
        )
        if alarm is not None:
            outcome.raised.append(alarm.pk)
    return outcome


# --- the rules ----------------------------------------------------------------------------------------
def no_motion(now: datetime) -> tuple[list[Found], str]:
    """Elders living alone with no motion for NO_MOTION_HOURS of daytime."""
    today = timezone.localdate(now)
    day_starts = int(policy.value(policies.DAY_STARTS, on=today))
    day_ends = int(policy.value(policies.DAY_ENDS, on=today))
    hour = timezone.localtime(now).hour
    if not day_starts <= hour < day_ends:
        return [], "night"
    hours = Limits(policies.NO_MOTION_HOURS, on=today)
    offline = Limits(policies.OFFLINE_HOURS, on=today)
    sensors = Device.objects.filter(
        elder_id=OuterRef("pk"), kind=DeviceKind.MOTION_SENSOR, status=DeviceStatus.ACTIVE
    )
    motion = Reading.objects.filter(elder_id=OuterRef("pk"), type=EventType.MOTION, at__lte=now).filter(
        Q(value1__isnull=True) | Q(value1__gt=0)
    )
    query = (
        Elder.objects.filter(living_arrangement=LivingArrangement.ALONE, status=ElderStatus.ACTIVE)
        .filter(Exists(sensors))
        .annotate(
            last_motion=Subquery(motion.order_by("-at").values("at")[:1]),
            registered=Subquery(sensors.order_by("created_at").values("created_at")[:1]),
            seen=Subquery(
                sensors.filter(last_seen_at__isnull=False)
                .order_by("-last_seen_at")
                .values("last_seen_at")[:1]
            ),
            sensor_id=Subquery(sensors.order_by("id").values("id")[:1]),
            sensor_region=Subquery(sensors.order_by("id").values("region_id")[:1]),
        )
        .annotate(since=Coalesce("last_motion", "registered"))
        .filter(since__lte=now - _hours(hours.low), seen__isnull=False)
        .values_list("pk", "sensor_id", "sensor_region", "since", "seen", "last_motion")
    )
    rows = list(query)
    hours.load(r[0] for r in rows)
    offline.load(r[0] for r in rows)
    found = []
    for elder_id, sensor_id, region_id, since, seen, last_motion in rows:
        if seen < now - _hours(offline.of(elder_id)):
            continue  # the sensor is silent, not (necessarily) the elder: OFFLINE's business
        limit = hours.of(elder_id)
        silent = daytime_seconds(since, now, day_starts=day_starts, day_ends=day_ends)
        if silent < limit * 3600:
            continue
        found.append(
            Found(
                Rule.NO_MOTION,
                sensor_id,
                elder_id,
                region_id,
                since,
                f"{Rule.NO_MOTION.label}：白天已 {_hours_text(silent / 3600)} 小时未检测到活动",
                {
                    "daytime_hours": round(silent / 3600, 2),
                    "limit_hours": limit,
                    "last_motion": last_motion.isoformat() if last_motion else None,
                },
            )
        )
    return found, ""


def no_water(now: datetime) -> tuple[list[Found], str]:
    """Water meters whose running total has not risen for NO_WATER_HOURS."""
    today = timezone.localdate(now)
    hours = Limits(policies.NO_WATER_HOURS, on=today)
    offline = Limits(policies.OFFLINE_HOURS, on=today)
    lookback = now - _hours(hours.high) - LOOKBACK_MARGIN
    water = Reading.objects.filter(
        device_id=OuterRef("pk"), type=EventType.WATER, value1__isnull=False, at__lte=now
    )
    recent = water.filter(at__gte=lookback)
    after_lower = Coalesce(OuterRef("lower_at"), Value(lookback, output_field=DateTimeField()))
    query = (
        Device.objects.filter(kind=DeviceKind.WATER_METER, status=DeviceStatus.ACTIVE)
        .filter(Q(elder__isnull=True) | Q(elder__status=ElderStatus.ACTIVE))
        .filter(last_seen_at__isnull=False)
        .annotate(
            total=Subquery(water.order_by("-at", "-id").values("value1")[:1]),
            latest_at=Subquery(water.order_by("-at", "-id").values("at")[:1]),
        )
        .filter(total__isnull=False)
        .annotate(
            lower_at=Subquery(recent.filter(value1__lt=OuterRef("total")).order_by("-at").values("at")[:1])
        )
        .annotate(
            reached_at=Subquery(
                recent.filter(value1__gte=OuterRef("total"), at__gt=after_lower)
                .order_by("at")
                .values("at")[:1]
            )
        )
        .annotate(since=Coalesce("reached_at", "latest_at"))
        .filter(since__lte=now - _hours(hours.low))
        .values_list("pk", "elder_id", "region_id", "since", "last_seen_at", "total")
    )
    rows = list(query)
    hours.load(r[1] for r in rows)
    offline.load(r[1] for r in rows)
    found = []
    for device_id, elder_id, region_id, since, seen, total in rows:
        if seen is None or seen < now - _hours(offline.of(elder_id)):
            continue
        limit = hours.of(elder_id)
        if since > now - _hours(limit):
            continue
        silent = (now - since).total_seconds() / 3600
        found.append(
            Found(
                Rule.NO_WATER,
                device_id,
                elder_id,
                region_id,
                since,
                f"{Rule.NO_WATER.label}：已 {_hours_text(silent)} 小时未用水",
                {"hours": round(silent, 2), "limit_hours": limit, "litres": total},
            )
        )
    return found, ""


_RUNNING_SQL = """
WITH r AS (
    SELECT device_id, at, value1, value2,
           LAG(value1) OVER (PARTITION BY device_id ORDER BY at, id) AS prev1
    FROM {reading}
    WHERE type = %s AND at >= %s AND at <= %s
      AND device_id IN (SELECT id FROM {device} WHERE kind = %s AND status = %s)
),
s AS (
    SELECT device_id, at,
           CASE WHEN value2 IS NOT NULL THEN (CASE WHEN value2 > 0 THEN 1 ELSE 0 END)
                WHEN prev1 IS NOT NULL AND value1 > prev1 THEN 1
                ELSE 0 END AS running
    FROM r
),
stops AS (
    SELECT device_id, MAX(at) AS last_stop FROM s WHERE running = 0 GROUP BY device_id
)
SELECT s.device_id, MIN(s.at) AS run_start, MAX(s.at) AS last_at, COUNT(*) AS readings
FROM s LEFT JOIN stops ON stops.device_id = s.device_id
WHERE s.running = 1 AND (stops.last_stop IS NULL OR s.at > stops.last_stop)
GROUP BY s.device_id
HAVING MIN(s.at) <= %s
"""


def water_running(now: datetime) -> tuple[list[Found], str]:
    """Water meters whose every reading over WATER_RUNNING_HOURS shows water running."""
    today = timezone.localdate(now)
    hours = Limits(policies.WATER_RUNNING_HOURS, on=today)
    lookback = now - _hours(hours.high) - LOOKBACK_MARGIN
    sql = _RUNNING_SQL.format(reading=Reading._meta.db_table, device=Device._meta.db_table)
    params = [
        EventType.WATER.value,
        _adapt(lookback),
        _adapt(now),
        DeviceKind.WATER_METER.value,
        DeviceStatus.ACTIVE.value,
        _adapt(now - _hours(hours.low)),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        runs = {row[0]: (_moment(row[1]), _moment(row[2]), row[3]) for row in cursor.fetchall()}
    devices = _devices(runs)
    hours.load(d[0] for d in devices.values())
    found = []
    for device_id, (run_start, last_at, readings) in runs.items():
        if device_id not in devices or run_start is None or last_at is None:
            continue
        elder_id, region_id = devices[device_id]
        limit = hours.of(elder_id)
        span = last_at - run_start
        if span < _hours(limit):
            continue
        found.append(
            Found(
                Rule.WATER_RUNNING,
                device_id,
                elder_id,
                region_id,
                run_start,
                f"{Rule.WATER_RUNNING.label}：已连续用水 {_hours_text(span.total_seconds() / 3600)} 小时",
                {"hours": round(span.total_seconds() / 3600, 2), "limit_hours": limit, "readings": readings},
            )
        )
    return found, ""


def _devices(ids: Iterable[int]) -> dict[int, tuple[int | None, str]]:
    """(elder, region) of these devices, one query a chunk."""
    found: dict[int, tuple[int | None, str]] = {}
    for chunk in _chunks(sorted(ids)):
        for pk, elder_id, region_id in Device.objects.filter(pk__in=chunk).values_list(
            "pk", "elder_id", "region_id"
        ):
            found[pk] = (elder_id, region_id)
    return found


_ELECTRICITY_SQL = """
WITH bucketed AS (
    SELECT device_id, {bucket} AS dix, value1
    FROM {reading}
    WHERE type = %s AND value1 IS NOT NULL AND at >= %s AND at < %s
      AND device_id IN (
          SELECT d.id FROM {device} d LEFT JOIN {elder} e ON e.id = d.elder_id
          WHERE d.kind = %s AND d.status = %s AND (d.elder_id IS NULL OR e.status = %s)
      )
),
daily AS (
    SELECT device_id, dix, MAX(value1) AS top FROM bucketed GROUP BY device_id, dix
),
used AS (
    SELECT device_id, dix,
           top - LAG(top) OVER (PARTITION BY device_id ORDER BY dix) AS kwh,
           dix - LAG(dix) OVER (PARTITION BY device_id ORDER BY dix) AS gap
    FROM daily
),
base AS (
    SELECT device_id, COUNT(*) AS n, AVG(kwh) AS mean FROM used
    WHERE gap = 1 AND kwh >= 0 AND dix BETWEEN 1 AND %s
    GROUP BY device_id
),
spread AS (
    SELECT u.device_id, SUM((u.kwh - b.mean) * (u.kwh - b.mean)) / (b.n - 1) AS var
    FROM used u JOIN base b ON b.device_id = u.device_id
    WHERE u.gap = 1 AND u.kwh >= 0 AND u.dix BETWEEN 1 AND %s AND b.n >= %s
    GROUP BY u.device_id, b.n
)
SELECT y.device_id, y.kwh, b.n, b.mean, s.var
FROM used y
JOIN base b ON b.device_id = y.device_id
JOIN spread s ON s.device_id = y.device_id
WHERE y.dix = %s AND y.gap = 1 AND y.kwh >= 0 AND b.n >= %s
  AND (y.kwh - b.mean) * (y.kwh - b.mean) > %s * s.var
"""


def electricity(now: datetime) -> tuple[list[Found], str]:
    """Yesterday's consumption far off the household's own daily baseline."""
    today = timezone.localdate(now)
    days = int(policy.value(policies.ELECTRICITY_BASELINE_DAYS, on=today))
    deviation = Limits(policies.ELECTRICITY_DEVIATION, on=today)
    # Buckets 0..days+1 are local days: 0 only gives day 1 its starting total, 1..days are the baseline,
    # days+1 is yesterday. bounds[i] is the start of bucket i; bounds[-1] is today's midnight.
    bounds = [_local_midnight(today - timedelta(days=days + 2 - i)) for i in range(days + 3)]
    cases = " ".join("WHEN at < %s THEN " + str(i) for i in range(days + 1))
    bucket = f"CASE {cases} ELSE {days + 1} END"
    sql = _ELECTRICITY_SQL.format(
        bucket=bucket,
        reading=Reading._meta.db_table,
        device=Device._meta.db_table,
        elder=Elder._meta.db_table,
    )
    params: list[Any] = [_adapt(b) for b in bounds[1 : days + 2]]
    params += [
        EventType.ELECTRICITY.value,
        _adapt(bounds[0]),
        _adapt(bounds[-1]),
        DeviceKind.ELECTRICITY_METER.value,
        DeviceStatus.ACTIVE.value,
        ElderStatus.ACTIVE.value,
        days,
        days,
        MIN_BASELINE_DAYS,
        days + 1,
        MIN_BASELINE_DAYS,
        deviation.low * deviation.low,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    devices = _devices(r[0] for r in rows)
    deviation.load(d[0] for d in devices.values())
    yesterday = bounds[-2]
    found = []
    for device_id, used, n, mean, var in rows:
        if device_id not in devices:
            continue
        elder_id, region_id = devices[device_id]
        k = deviation.of(elder_id)
        std = max(float(var), 0.0) ** 0.5
        if abs(used - mean) <= k * std or abs(used - mean) < 1e-9:
            continue
        word = "偏高" if used > mean else "偏低"
        found.append(
            Found(
                Rule.ELECTRICITY,
                device_id,
                elder_id,
                region_id,
                yesterday,
                f"{Rule.ELECTRICITY.label}：昨日用电 {used:.1f} 千瓦时，{word}（近 {n} 日平均 {mean:.1f}）",
                {
                    "day": (today - timedelta(days=1)).isoformat(),
                    "kwh": round(float(used), 3),
                    "mean": round(float(mean), 3),
                    "std": round(std, 3),
                    "baseline_days": int(n),
                    "deviation": k,
                },
            )
        )
    return found, ""


def offline(now: datetime) -> tuple[list[Found], str]:
    """Active devices not heard from for OFFLINE_HOURS (or never, since installation)."""
    today = timezone.localdate(now)
    hours = Limits(policies.OFFLINE_HOURS, on=today)
    cut = now - _hours(hours.low)
    rows = list(
        Device.objects.filter(status=DeviceStatus.ACTIVE)
        .filter(
            Q(last_seen_at__lte=cut)
            | Q(last_seen_at__isnull=True, installed_on__lte=timezone.localdate(cut))
            | Q(last_seen_at__isnull=True, installed_on__isnull=True, created_at__lte=cut)
        )
        .values_list("pk", "elder_id", "region_id", "kind", "last_seen_at", "installed_on", "created_at")
    )
    hours.load(r[1] for r in rows)
    found = []
    for device_id, elder_id, region_id, kind, seen, installed_on, created_at in rows:
        since = seen or (_local_midnight(installed_on) if installed_on else created_at)
        limit = hours.of(elder_id)
        if since > now - _hours(limit):
            continue
        silent = (now - since).total_seconds() / 3600
        what = f"已 {_hours_text(silent)} 小时无通信" if seen else "安装后从未通信"
        found.append(
            Found(
                Rule.OFFLINE,
                device_id,
                elder_id,
                region_id,
                since,
                f"{Rule.OFFLINE.label}：{DeviceKind(kind).label}{what}",
                {"hours": round(silent, 2), "limit_hours": limit, "never_seen": seen is None},
            )
        )
    return found, ""


def _announcer(alarm_ids: list[int]) -> Callable[[], Any]:
    return lambda: events.alarms_raised.send(sender=Alarm, alarm_ids=alarm_ids)


RULES = {
    Rule.NO_MOTION: no_motion,
    Rule.NO_WATER: no_water,
    Rule.WATER_RUNNING: water_running,
    Rule.ELECTRICITY: electricity,
    Rule.OFFLINE: offline,
}


def evaluate(*, now: datetime | None = None, rules: Iterable[str] | None = None) -> dict[str, Any]:
    """Run the timed rules (all of them, or `rules`), each in its own transaction; raise one alarm per
    new situation and announce them after commit. Returns per-rule counts and the total raised."""
    now = now or timezone.now()
    report: dict[str, Any] = {"at": now.isoformat(), "rules": {}, "raised": 0}
    for rule in rules or ALL_RULES:
        with transaction.atomic():
            found, skipped = RULES[Rule(rule)](now)
            outcome = _raise_all(rule, found, now) if found else Outcome()
            outcome.skipped = skipped
            raised = list(outcome.raised)
            if raised:
                transaction.on_commit(_announcer(raised))
        report["rules"][str(rule)] = outcome.as_dict()
        report["raised"] += len(raised)
        if raised:
            log.info("rule %s: %d alarm(s) raised", rule, len(raised))
    return report
