"""Fraud checks on visits (DOMAIN.md §5: "check-in far from home, duration far below standard, overlapping
visits by one worker, impossible travel between visits, service after death or during a hospital stay,
the same photo reused"). A real complaint in this field is paying for visits that never happened; each
check below compares one thing a made-up visit cannot easily get right.

- far_check_in: the check-in position against the elder's registered home (haversine metres) with the
  policy value orders.geofence_m in force on the visit's day. Check-in is not refused there (the worker
  may be at the door of a mis-geocoded address), so the district must see it. Flagged above the
  geofence, not at it.
- short_duration: check-out minus check-in against orders.min_duration_percent of the catalogue item's
  standard minutes. A bath "given" in five minutes was not given. Flagged below the limit, not at it;
  only once the visit is checked out.
- overlap: the visit's interval [check-in, check-out) against every other visit of the same worker;
  a visit not checked out yet runs on without end. One person cannot serve two homes at once, and a
  visit left open while the worker checks in elsewhere is the pattern of "check in and leave". Both
  visits of a pair end up flagged (the second at its check-in, the first at its check-out). Closed
  visits begun more than LONGEST_VISIT (a day) before are not read, which bounds the check to recent
  rows; a visit that long still finds what it overlaps at its own check-out.
- impossible_travel: from the worker's previous visit (by check-in time; its check-out position and
  time when it had checked out by then, else its check-in) to this check-in: distance over time gap
  against orders.max_travel_kmh. The distance is first reduced by the geofence, the scatter the city
  already accepts in a position, so two neighbours' homes never read as speed. Catches a worker
  checking in for homes they could not have reached (positions sent from elsewhere).
- after_death: the check-in day against the registry's death date (Elder.death_date, or the status
  date of an elder marked deceased): on or after it. Cross-checks (数据比对) of DOMAIN.md §1.
- in_hospital: the check-in day against the registry's hospital stays, from an admission to the next
  discharge (open-ended while none is recorded), ignoring events that a correction reversed. The
  admission day counts (the registry records days, not hours: a clerk clears a morning visit), the
  discharge day does not (the elder comes home that day).
- photo_reused: each photo's perceptual hash (photos.perceptual_hash) against the photos of every other
  visit; within photos.PHOTO_DISTANCE bits they are one picture, re-saved or resized. The later visit
  (by check-in) is flagged, with the earlier visit and photo in the evidence.
- not_served: raised by a follow-up call (回访) in which the elder says nobody came.

`check_visit` runs on each check-in, check-out and photo, inside the caller's transaction, and flags only
the visit it was given. `check_all` runs nightly over recent visits, one set-based query per check, and
finds what a visit's own checks could not see at the time: a death reported late, an earlier visit's
photo uploaded after a later visit used it. A visit has at most one flag of each kind; a flag once
cleared stays cleared. An open or confirmed flag holds the visit out of settlement (`HELD`): cleared is
paid, confirmed never is. The district reviews flags with `flag_review`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.db.models import (
    Case,
    DateField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from yanglao.accounts import scope
from yanglao.benefits import services as benefits_services
from yanglao.core import audit, policy
from yanglao.core.errors import Conflict, InvalidInput, NotFound
from yanglao.core.permissions import Perm
from yanglao.orders import geo, photos, policies
from yanglao.orders.enums import FlagKind, FlagStatus, OrderStatus
from yanglao.orders.models import FraudFlag, Visit, VisitPhoto
from yanglao.regions import codes
from yanglao.registry.enums import EventKind
from yanglao.registry.enums import Status as ElderStatus
from yanglao.registry.models import LifeEvent

# Flags that keep a visit out of settlement: open (not reviewed yet) and confirmed (never paid).
HOLDING = (FlagStatus.OPEN, FlagStatus.CONFIRMED)
# The end of a visit not checked out yet: it overlaps everything its worker does after its check-in.
_OPEN_END = datetime(9999, 1, 1, tzinfo=UTC)
# A visit checked out this long after its check-in is taken to overlap only what began in that time
# (bounds the overlap check's read; such a visit's own check at check-out still sees everything).
LONGEST_VISIT = timedelta(days=1)
# How many matches a flag's evidence lists (the summary names the first; the rest are for the clerk).
_EVIDENCE_ROWS = 10
SYSTEM_ACTOR = "fraud_check"


def _hex_blocks(distance: int) -> tuple[tuple[int, int], ...]:
    """(1-based start, length) of distance + 1 runs of hex digits covering the 16-digit hash. Two hashes
    at most `distance` bits apart differ in at most `distance` runs, so at least one run is equal:
    equality on each run finds every candidate with an equi-join, and the exact distance is counted
    on those few (pigeonhole, as in multi-index hashing)."""
    parts = distance + 1
    if not 1 <= parts <= 16:
        raise ValueError("PHOTO_DISTANCE must be 0 to 15 bits")
    base, extra = divmod(16, parts)
    blocks, start = [], 1
    for index in range(parts):
        length = base + (1 if index < extra else 0)
        blocks.append((start, length))
        start += length
    return tuple(blocks)


_BLOCKS = _hex_blocks(photos.PHOTO_DISTANCE)


@dataclass
class Finding:
    """A flag to be raised, before it is known whether the visit already has one of its kind."""

    visit_id: int
    kind: str
    summary: str
    evidence: dict[str, Any]


class _Rules:
    """The policy values in force on each day of a pass, read up front once per (setting, day): a pass
    asks as many questions for a million visits as for one."""

    SETTINGS = (
        policies.GEOFENCE_M,
        policies.MIN_DURATION_PERCENT,
        policies.MAX_TRAVEL_KMH,
    )

    def __init__(self, days: Iterable[date]) -> None:
        self.days = sorted(set(days))
        self._cache: dict[tuple[str, date], Any] = {}
        for setting in self.SETTINGS:
            self.every(setting)

    def on(self, setting: policy.Setting, day: date) -> Any:
        key = (setting.key, day)
        if key not in self._cache:
            self._cache[key] = policy.value(setting, on=day)
        return self._cache[key]

    def every(self, setting: policy.Setting) -> list[Any]:
        return [self.on(setting, day) for day in self.days]


# --- formatting for the clerk ---------------------------------------------------------------------------
def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment)


def _when(moment: datetime) -> str:
    return _local(moment).strftime("%Y-%m-%d %H:%M")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else _local(moment).isoformat()


def _span(start: datetime, end: datetime | None) -> str:
    if end is None:
        return f"{_when(start)} 签到后未签退"
    same_day = _local(start).date() == _local(end).date()
    return f"{_when(start)}–{_local(end).strftime('%H:%M') if same_day else _when(end)}"


def _number(value: float) -> str:
    """1234.5 → "1,235"; small values keep one decimal so 29.9 does not read as the limit 30."""
    if abs(value) < 100 and round(value, 1) != round(value):
        return f"{value:.1f}"
    return f"{round(value):,}"


def _duration(seconds: float) -> str:
    """Whole minutes, with the seconds when there are any: 29 分 59 秒 is below a 30-minute limit."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} 分钟" if rest == 0 else f"{minutes} 分 {rest} 秒"


def _day(moment: datetime) -> date:
    return _local(moment).date()


def _rows(queryset: Any) -> list[dict[str, Any]]:
    """The rows of a .values() queryset as plain dicts (the checks read them by name)."""
    return list(queryset)


# --- the checks: each takes a queryset of visits and returns findings, one query (or a few) each ----------
def _far_check_in(visits: QuerySet[Visit], rules: _Rules) -> list[Finding]:
    lowest = min(rules.every(policies.GEOFENCE_M))
    known = {
        "check_in_latitude__isnull": False,
        "check_in_longitude__isnull": False,
        "order__elder__latitude__isnull": False,
        "order__elder__longitude__isnull": False,
    }
    rows = _rows(
        visits.filter(
            # A distance left unknown at check-in (the home had no coordinates then) is measured now.
            Q(check_in_distance_m__gt=lowest) | Q(check_in_distance_m__isnull=True, **known)
        ).values(
            "pk",
            "check_in_at",
            "check_in_latitude",
            "check_in_longitude",
            "check_in_accuracy_m",
            "check_in_distance_m",
            "order__elder__latitude",
            "order__elder__longitude",
        )
    )
    found = []
    for row in rows:
        distance = row["check_in_distance_m"]
        if distance is None:
            distance = geo.haversine_m(
                row["check_in_latitude"],
                row["check_in_longitude"],
                row["order__elder__latitude"],
                row["order__elder__longitude"],
            )
        allowed = rules.on(policies.GEOFENCE_M, _day(row["check_in_at"]))
        if distance <= allowed:
            continue
        # Just past the limit, whole metres would read as the limit itself.
        shown = _number(distance) if round(distance) > allowed else f"{distance:.1f}"
        found.append(
            Finding(
                row["pk"],
                FlagKind.FAR_CHECK_IN,
                f"签到位置距老人住址 {shown} 米（允许 {_number(allowed)} 米）",
                {
                    "check_in_at": _iso(row["check_in_at"]),
                    "check_in": {
                        "latitude": row["check_in_latitude"],
                        "longitude": row["check_in_longitude"],
                        "accuracy_m": row["check_in_accuracy_m"],
                    },
                    "home": {
                        "latitude": row["order__elder__latitude"],
                        "longitude": row["order__elder__longitude"],
                    },
                    "distance_m": round(distance, 1),
                    "policy": {policies.GEOFENCE_M.key: allowed},
                },
            )
        )
    return found


def _short_duration(visits: QuerySet[Visit], rules: _Rules) -> list[Finding]:
    highest = max(rules.every(policies.MIN_DURATION_PERCENT))
    limit = ExpressionWrapper(
        # Cast: SQLite multiplies a duration only by a plain integer field, not a positive one.
        Cast("order__item__standard_minutes", IntegerField()) * Value(timedelta(seconds=60 * highest / 100)),
        output_field=DurationField(),
    )
    took = ExpressionWrapper(F("check_out_at") - F("check_in_at"), output_field=DurationField())
    rows = _rows(
        visits.filter(check_out_at__isnull=False)
        .annotate(took=took, limit=limit)
        .filter(took__lt=F("limit"))
        .values(
            "pk",
            "check_in_at",
            "check_out_at",
            "order__item__name",
            "order__item__code",
            "order__item__standard_minutes",
        )
    )
    found = []
    for row in rows:
        seconds = (row["check_out_at"] - row["check_in_at"]).total_seconds()
        minutes = seconds / 60
        standard = row["order__item__standard_minutes"]
        percent = rules.on(policies.MIN_DURATION_PERCENT, _day(row["check_in_at"]))
        least = standard * percent / 100
        if minutes >= least:
            continue
        found.append(
            Finding(
                row["pk"],
                FlagKind.SHORT_DURATION,
                f"服务时长 {_duration(seconds)}，低于“{row['order__item__name']}”标准时长 {standard} 分钟的 "
                f"{percent}%（{_number(least)} 分钟）",
                {
                    "check_in_at": _iso(row["check_in_at"]),
                    "check_out_at": _iso(row["check_out_at"]),
                    "minutes": round(minutes, 1),
                    "item": row["order__item__code"],
                    "standard_minutes": standard,
                    "limit_minutes": round(least, 1),
                    "policy": {policies.MIN_DURATION_PERCENT.key: percent},
                },
            )
        )
    return found


def _overlap(visits: QuerySet[Visit], rules: _Rules) -> list[Finding]:
    fields = ("pk", "order_id", "worker_id", "check_in_at", "check_out_at")
    mine = _rows(visits.values(*fields, "worker__name"))
    if not mine:
        return []
    # The worker's other visits that can overlap: those begun at most LONGEST_VISIT before the earliest
    # visit checked (an index range on (worker, check_in_at), not the worker's whole history), and those
    # still open, however old (their orders are in CHECKED_IN, found by the status index). Matched here,
    # worker by worker: one read each, whatever the number of visits checked.
    workers = visits.order_by().values("worker_id")
    bound = min(row["check_in_at"] for row in mine) - LONGEST_VISIT
    theirs = _rows(Visit.objects.filter(worker_id__in=workers, check_in_at__gte=bound).values(*fields))
    theirs += _rows(
        Visit.objects.filter(
            worker_id__in=workers,
            check_in_at__lt=bound,
            check_out_at__isnull=True,
            order__status=OrderStatus.CHECKED_IN,
        ).values(*fields)
    )
    by_worker: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for other in sorted(theirs, key=lambda r: (r["check_in_at"], r["pk"])):
        by_worker[other["worker_id"]].append(other)
    rows = []
    for row in mine:
        end = row["check_out_at"] or _OPEN_END
        overlapping = [
            other
            for other in by_worker[row["worker_id"]]
            if other["pk"] != row["pk"]
            and other["check_in_at"] < end
            and (other["check_out_at"] or _OPEN_END) > row["check_in_at"]
        ]
        if overlapping:
            rows.append({**row, "other": overlapping[0], "overlapping": len(overlapping)})
    found = []
    for row in rows:
        other = row["other"]
        minutes = None
        if row["check_out_at"] is not None and other["check_out_at"] is not None:
            shared = min(row["check_out_at"], other["check_out_at"]) - max(
                row["check_in_at"], other["check_in_at"]
            )
            minutes = round(shared.total_seconds() / 60, 1)
        more = f"（共与 {row['overlapping']} 次服务重叠）" if row["overlapping"] > 1 else ""
        length = f"，重叠 {_number(minutes)} 分钟" if minutes is not None else ""
        found.append(
            Finding(
                row["pk"],
                FlagKind.OVERLAP,
                f"护理员{row['worker__name']}同时段在两处服务：工单 No.{other['order_id']} "
                f"{_span(other['check_in_at'], other['check_out_at'])}，本次 "
                f"{_span(row['check_in_at'], row['check_out_at'])}{length}{more}",
                {
                    "worker": row["worker_id"],
                    "check_in_at": _iso(row["check_in_at"]),
                    "check_out_at": _iso(row["check_out_at"]),
                    "other_visit": other["pk"],
                    "other_order": other["order_id"],
                    "other_check_in_at": _iso(other["check_in_at"]),
                    "other_check_out_at": _iso(other["check_out_at"]),
                    "overlap_minutes": minutes,
                    "overlapping_visits": row["overlapping"],
                },
            )
        )
    return found


def _impossible_travel(visits: QuerySet[Visit], rules: _Rules) -> list[Finding]:
    previous = (
        Visit.objects.filter(worker_id=OuterRef("worker_id"))
        .filter(
            Q(check_in_at__lt=OuterRef("check_in_at"))
            | Q(check_in_at=OuterRef("check_in_at"), pk__lt=OuterRef("pk"))
        )
        .order_by("-check_in_at", "-pk")
        .values("pk")[:1]
    )
    rows = _rows(
        visits.filter(check_in_latitude__isnull=False, check_in_longitude__isnull=False)
        .annotate(previous=Subquery(previous))
        .filter(previous__isnull=False)
        .values("pk", "check_in_at", "check_in_latitude", "check_in_longitude", "previous")
    )
    if not rows:
        return []
    before = {
        row["pk"]: row
        for row in _rows(
            Visit.objects.filter(pk__in={r["previous"] for r in rows}).values(
                "pk",
                "order_id",
                "check_in_at",
                "check_in_latitude",
                "check_in_longitude",
                "check_out_at",
                "check_out_latitude",
                "check_out_longitude",
            )
        )
    }
    found = []
    for row in rows:
        prev = before[row["previous"]]
        left_at, left_lat, left_lng, left_how = (
            prev["check_in_at"],
            prev["check_in_latitude"],
            prev["check_in_longitude"],
            "签到",
        )
        if (
            prev["check_out_at"] is not None
            and prev["check_out_at"] <= row["check_in_at"]
            and prev["check_out_latitude"] is not None
            and prev["check_out_longitude"] is not None
        ):
            left_at, left_lat, left_lng, left_how = (
                prev["check_out_at"],
                prev["check_out_latitude"],
                prev["check_out_longitude"],
                "签退",
            )
        if left_lat is None or left_lng is None:
            continue
        seconds = (row["check_in_at"] - left_at).total_seconds()
        if seconds <= 0:
            continue  # not consecutive but simultaneous: the overlap check reports it
        day = _day(row["check_in_at"])
        slack = rules.on(policies.GEOFENCE_M, day)
        fastest = rules.on(policies.MAX_TRAVEL_KMH, day)
        distance = geo.haversine_m(left_lat, left_lng, row["check_in_latitude"], row["check_in_longitude"])
        kmh = max(0.0, distance - slack) / 1000 / (seconds / 3600)
        if kmh <= fastest:
            continue
        found.append(
            Finding(
                row["pk"],
                FlagKind.IMPOSSIBLE_TRAVEL,
                f"距上一次服务（工单 No.{prev['order_id']}，{_when(left_at)} {left_how}）{_number(distance)} 米，"
                f"间隔 {_duration(seconds)}，折合时速约 {_number(kmh)} 公里"
                f"（已扣除定位误差 {_number(slack)} 米；合理上限 {_number(fastest)} 公里/小时）",
                {
                    "check_in_at": _iso(row["check_in_at"]),
                    "check_in": {
                        "latitude": row["check_in_latitude"],
                        "longitude": row["check_in_longitude"],
                    },
                    "other_visit": prev["pk"],
                    "other_order": prev["order_id"],
                    "left_at": _iso(left_at),
                    "left_by": "check_out" if left_how == "签退" else "check_in",
                    "left": {"latitude": left_lat, "longitude": left_lng},
                    "distance_m": round(distance, 1),
                    "minutes": round(seconds / 60, 1),
                    "speed_kmh": round(kmh, 1),
                    "policy": {policies.MAX_TRAVEL_KMH.key: fastest, policies.GEOFENCE_M.key: slack},
                },
            )
        )
    return found


def _after_death(visits: QuerySet[Visit], rules: _Rules) -> list[Finding]:
    died = Coalesce(
        "order__elder__death_date",
        Case(When(order__elder__status=ElderStatus.DECEASED, then=F("order__elder__status_since"))),
        output_field=DateField(),
    )
    rows = _rows(
        visits.annotate(day=TruncDate("check_in_at"), died=died)
        .filter(died__isnull=False, day__gte=F("died"))
        .values("pk", "check_in_at", "died", "order__elder_id")
    )
    found = []
    for row in rows:
        found.append(
            Finding(
                row["pk"],
                FlagKind.AFTER_DEATH,
                f"老人已登记于 {row['died']:%Y-%m-%d} 死亡，本次服务签到时间为 {_when(row['check_in_at'])}",
                {
                    "elder": row["order__elder_id"],
                    "death_date": row["died"].isoformat(),
                    "check_in_at": _iso(row["check_in_at"]),
                },
            )
        )
    return found


def _in_hospital(visits: QuerySet[Visit], rules: _Rules) -> list[Finding]:
    stays = LifeEvent.objects.filter(
        kind__in=(EventKind.HOSPITAL_ADMISSION, EventKind.HOSPITAL_DISCHARGE), reversed_by__isnull=True
    )
    admitted = stays.filter(
        elder_id=OuterRef("order__elder_id"), kind=EventKind.HOSPITAL_ADMISSION, on__lte=OuterRef("day")
    )
    rows = list(
        visits.annotate(day=TruncDate("check_in_at"))
        .filter(Exists(admitted))
        .values("pk", "check_in_at", "day", "order__elder_id")
    )
    if not rows:
        return []
    events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in _rows(
        stays.filter(elder_id__in={r["order__elder_id"] for r in rows})
        .order_by("elder_id", "created_at", "pk")
        .values("pk", "elder_id", "kind", "on")
    ):
        events[event["elder_id"]].append(event)
    found = []
    for row in rows:
        for admission, discharge in _stays(events[row["order__elder_id"]]):
            if not (admission["on"] <= row["day"] and (discharge is None or row["day"] < discharge["on"])):
                continue
            until = f"至 {discharge['on']:%Y-%m-%d} 出院" if discharge else "，尚未登记出院"
            found.append(
                Finding(
                    row["pk"],
                    FlagKind.IN_HOSPITAL,
                    f"老人 {admission['on']:%Y-%m-%d} 住院{until}，本次服务签到时间为 {_when(row['check_in_at'])}",
                    {
                        "elder": row["order__elder_id"],
                        "admission": {"event": admission["pk"], "on": admission["on"].isoformat()},
                        "discharge": (
                            {"event": discharge["pk"], "on": discharge["on"].isoformat()}
                            if discharge
                            else None
                        ),
                        "check_in_at": _iso(row["check_in_at"]),
                    },
                )
            )
            break
    return found


def _stays(events: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Admission → the next discharge recorded, in the order the registry recorded them (as it pairs
    them itself); a second admission inside a stay changes nothing, a discharge with no stay open is
    ignored."""
    stays: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    open_from: dict[str, Any] | None = None
    for event in events:
        if event["kind"] == EventKind.HOSPITAL_ADMISSION:
            open_from = open_from or event
        elif open_from is not None:
            stays.append((open_from, event))
            open_from = None
    if open_from is not None:
        stays.append((open_from, None))
    return stays


def _photo_reused(visits: QuerySet[Visit], rules: _Rules) -> list[Finding]:
    if not VisitPhoto.objects.filter(visit__in=visits.order_by().values("pk")).exists():
        return []  # most check-ins and check-outs: no photo yet, no join over every photo
    database = visits.db
    connection = connections[database]
    qn = connection.ops.quote_name
    photo, visit = qn(VisitPhoto._meta.db_table), qn(Visit._meta.db_table)
    later, params = visits.order_by().values("pk").query.sql_with_params()
    # Spelled as Django spells Substr in the slice indexes (VisitPhoto.Meta), so the planner uses them:
    # on PostgreSQL substr() and SUBSTRING() are different functions to an expression index.
    cut = "SUBSTRING" if connection.vendor == "postgresql" else "SUBSTR"
    # One equi-join per run of hex digits (see _hex_blocks): r is a photo of a visit being checked,
    # o a photo of an earlier visit (by check-in, then id) sharing that run.
    branches = [
        "SELECT r.id, r.visit_id, r.phash, o.id, o.visit_id, o.phash"  # noqa: S608 (names and integers of this module; values are parameters)
        f" FROM {photo} r JOIN {visit} rv ON rv.id = r.visit_id"
        f" JOIN {photo} o ON {cut}(o.phash, {start}, {length}) = {cut}(r.phash, {start}, {length})"
        " AND o.visit_id <> r.visit_id"
        f" JOIN {visit} ov ON ov.id = o.visit_id"
        f" WHERE r.visit_id IN ({later})"
        " AND (ov.check_in_at < rv.check_in_at OR (ov.check_in_at = rv.check_in_at AND ov.id < rv.id))"
        for start, length in _BLOCKS
    ]
    sql = " UNION ".join(branches)
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params) * len(_BLOCKS))
        candidates = cursor.fetchall()
    matches: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for photo_id, visit_id, digest, other_photo, other_visit, other_digest in candidates:
        bits = photos.hamming(digest, other_digest)
        if bits <= photos.PHOTO_DISTANCE:
            matches[visit_id].append(
                {
                    "photo": photo_id,
                    "phash": digest,
                    "other_photo": other_photo,
                    "other_phash": other_digest,
                    "other_visit": other_visit,
                    "bits": bits,
                }
            )
    if not matches:
        return []
    other_ids = {m["other_visit"] for found in matches.values() for m in found}
    others = {
        row["pk"]: row
        for row in Visit.objects.using(database)
        .filter(pk__in=other_ids)
        .values("pk", "order_id", "check_in_at")
    }
    found = []
    for visit_id, pairs in matches.items():
        pairs.sort(key=lambda m: (m["bits"], others[m["other_visit"]]["check_in_at"], m["other_photo"]))
        for pair in pairs:
            other = others[pair["other_visit"]]
            pair["other_order"] = other["order_id"]
            pair["other_check_in_at"] = _iso(other["check_in_at"])
        first = pairs[0]
        visits_involved = len({m["other_visit"] for m in pairs})
        more = f"等 {visits_involved} 次服务" if visits_involved > 1 else ""
        found.append(
            Finding(
                visit_id,
                FlagKind.PHOTO_REUSED,
                f"本次服务照片与工单 No.{first['other_order']}（{_when(others[first['other_visit']]['check_in_at'])} "
                f"签到）{more}的照片为同一张图片（感知哈希相差 {first['bits']} 位，不超过 "
                f"{photos.PHOTO_DISTANCE} 位即视为同一张）",
                {
                    "other_visit": first["other_visit"],
                    "other_order": first["other_order"],
                    "other_photo": first["other_photo"],
                    "photo": first["photo"],
                    "bits": first["bits"],
                    "matches": pairs[:_EVIDENCE_ROWS],
                    "match_count": len(pairs),
                    "threshold_bits": photos.PHOTO_DISTANCE,
                },
            )
        )
    return found


_CHECKS = (
    _far_check_in,
    _short_duration,
    _overlap,
    _impossible_travel,
    _after_death,
    _in_hospital,
    _photo_reused,
)


def _find(visits: QuerySet[Visit], rules: _Rules) -> list[Finding]:
    found: list[Finding] = []
    for check in _CHECKS:
        found.extend(check(visits, rules))
    return found


def _raise(findings: list[Finding], *, actor: Any) -> list[FraudFlag]:
    """Create the flags not there yet, each with its audit row; an existing flag of the kind (open,
    confirmed or cleared) is left as it is. Each insert has its own savepoint, so a flag created by a
    concurrent pass meanwhile is skipped without spoiling the caller's transaction."""
    if not findings:
        return []
    existing: set[tuple[int, str]] = set()
    where: dict[int, tuple[int, str]] = {}
    for chunk in _chunks(sorted({f.visit_id for f in findings})):
        existing.update(FraudFlag.objects.filter(visit_id__in=chunk).values_list("visit_id", "kind"))
        for pk, order_id, region_id in Visit.objects.filter(pk__in=chunk).values_list(
            "pk", "order_id", "order__region_id"
        ):
            where[pk] = (order_id, region_id)
    now = timezone.now()
    created = []
    for finding in findings:
        key = (finding.visit_id, str(finding.kind))
        if key in existing:
            continue
        existing.add(key)
        order_id, region_id = where[finding.visit_id]
        try:
            with transaction.atomic():  # the flag and its audit row together, alone if need be
                flag = FraudFlag.objects.create(
                    visit_id=finding.visit_id,
                    kind=finding.kind,
                    summary=finding.summary[:300],
                    evidence={"order": order_id, **finding.evidence},
                    detected_at=now,
                )
                audit.record(
                    actor,
                    "fraud.flag",
                    flag,
                    region_code=region_id,
                    after={"visit": finding.visit_id, "order": order_id, "kind": str(finding.kind)},
                )
        except IntegrityError:
            continue  # raised by a concurrent pass since the read above
        created.append(flag)
    return created


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


# --- the public checks ---------------------------------------------------------------------------------
def check_visit(visit: Visit, *, actor: Any = SYSTEM_ACTOR) -> list[FraudFlag]:
    """Run every check that applies to the visit as it stands now and raise the flags it lacks (DOMAIN.md
    §5 fraud checks); runs inside the caller's transaction, after the caller saved the visit."""
    rules = _Rules([_day(visit.check_in_at)])
    return _raise(_find(Visit.objects.filter(pk=visit.pk), rules), actor=actor)


def flag_not_served(visit: Visit, *, note: str, actor: Any = SYSTEM_ACTOR) -> FraudFlag:
    """The elder said on the follow-up call that nobody came: the visit is held until the district has
    looked (DOMAIN.md §5 回访)."""
    note = (note or "").strip()
    said = f"：{note}" if note else ""
    finding = Finding(
        visit.pk,
        FlagKind.NOT_SERVED,
        f"回访时老人反映未接受本次服务{said}",
        {
            "worker": visit.worker_id,
            "check_in_at": _iso(visit.check_in_at),
            "check_out_at": _iso(visit.check_out_at),
            "follow_up_note": note,
        },
    )
    created = _raise([finding], actor=actor)
    return created[0] if created else FraudFlag.objects.get(visit_id=visit.pk, kind=FlagKind.NOT_SERVED)


def check_all(*, since: datetime | None = None, actor: str = "fraud_nightly") -> int:
    """The nightly pass: every check again over the visits checked in since `since` (default the last two
    days), one set-based query per check, so what was learned since (a death reported late, a photo
    uploaded to an earlier visit) is flagged too. Returns the number of new flags."""
    now = timezone.now()
    since = since or now - timedelta(days=2)
    first, last = _day(since), _day(now)
    rules = _Rules(first + timedelta(days=n) for n in range((last - first).days + 1))
    findings = _find(Visit.objects.filter(check_in_at__gte=since), rules)
    return len(_raise(findings, actor=actor))


# --- review -------------------------------------------------------------------------------------------
@transaction.atomic
def flag_review(*, actor: Any, flag: FraudFlag, decision: str, note: str) -> FraudFlag:
    """A district clerk clears (paid) or confirms (never paid) an open flag, with a note saying why; a
    flag is reviewed once (DOMAIN.md §5: flags listed for the district with their evidence)."""
    locked = (
        FraudFlag.objects.select_for_update(of=("self",))
        .select_related("visit__order")
        .filter(pk=flag.pk)
        .first()
    )
    if locked is None:
        raise NotFound("未找到该疑点")
    order = locked.visit.order
    if scope.is_person(actor):
        scope.require_perm(actor, Perm.SETTLEMENT_VIEW)
        scope.require_perm(actor, Perm.ORDERS_DISPATCH)
        scope.require_region(actor, order.region_id, hide=True)
    if decision not in (FlagStatus.CLEARED, FlagStatus.CONFIRMED):
        raise InvalidInput("请选择核查结论：核查无误或确认违规", field="decision")
    note = (note or "").strip()
    if not note:
        raise InvalidInput("请填写核查意见", field="note")
    if len(note) > 500:
        raise InvalidInput("核查意见不能超过 500 字", field="note")
    if locked.status != FlagStatus.OPEN:
        raise Conflict(f"该疑点已核查（{FlagStatus(locked.status).label}），不能重复核查", field="decision")
    locked.status = decision
    locked.reviewed_by = actor if scope.is_person(actor) else None
    locked.reviewed_at = timezone.now()
    locked.review_note = note
    locked.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
    refunded = _refund(actor, locked.visit) if decision == FlagStatus.CONFIRMED else None
    audit.record(
        actor,
        "fraud.review",
        locked,
        region_code=order.region_id,
        before={"status": FlagStatus.OPEN},
        after={
            "status": decision,
            "kind": locked.kind,
            "visit": locked.visit_id,
            "order": order.pk,
            "note": note,
            "refunded": str(refunded.amount) if refunded else None,
        },
    )
    return locked


def _refund(actor: Any, visit: Visit) -> Any:
    """A confirmed flag means the service is not paid: what the elder's service account paid goes back
    to it (once per order, however many flags are confirmed)."""
    if visit.account_paid <= 0:
        return None
    return benefits_services.service_account_refund(
        actor=actor,
        elder_id=visit.order.elder_id,
        amount=visit.account_paid,
        reference=f"refund:order:{visit.order_id}",
        note=f"服务疑点确认违规，退回服务工单 No.{visit.order_id} 的服务账户支付",
    )


# --- reads ---------------------------------------------------------------------------------------------
def holds(outer: str = "pk") -> Exists:
    """Exists(an open or confirmed flag on the visit at `outer`): from Visit use the default, from Order
    holds("visit"), from SettlementLine holds("visit_id")."""
    return Exists(FraudFlag.objects.filter(visit_id=OuterRef(outer), status__in=HOLDING))


# Settlement excludes these visits: `Visit.objects.exclude(HELD)`.
HELD = holds()


def held(visits: QuerySet[Visit]) -> QuerySet[Visit]:
    """The visits held out of settlement by an open or confirmed flag."""
    return visits.filter(holds())


def payable(visits: QuerySet[Visit]) -> QuerySet[Visit]:
    """The visits no flag holds (none, or every one cleared)."""
    return visits.exclude(holds())


def flags_visible(actor: Any) -> QuerySet[FraudFlag]:
    """The flags an actor may see: district and city staff their region's, inspectors (flags go to
    oversight, DOMAIN.md §5) theirs, a provider its own orders' (everyone else none)."""
    flags = FraudFlag.objects.select_related(
        "visit__order__elder", "visit__order__item", "visit__order__provider", "visit__worker", "reviewed_by"
    )
    if not scope.is_person(actor) or not (
        actor.has_perm(Perm.SETTLEMENT_VIEW) or actor.has_perm(Perm.INSPECTIONS_PERFORM)
    ):
        return flags.none()
    return scope.people(
        actor,
        flags,
        region_field="visit__order__region_id",
        organisation_field="visit__order__provider__organisation_id",
    )


def flag_list(
    actor: Any, *, status: str | None = None, kind: str | None = None, region: str | None = None
) -> QuerySet[FraudFlag]:
    """The actor's visible flags, newest first, filtered by status, kind and region (a division code:
    the orders of every community under it)."""
    flags = flags_visible(actor)
    if status:
        if status not in FlagStatus.values:
            raise InvalidInput(f"核查状态“{status}”无效", field="status")
        flags = flags.filter(status=status)
    if kind:
        if kind not in FlagKind.values:
            raise InvalidInput(f"疑点类型“{kind}”无效", field="kind")
        flags = flags.filter(kind=kind)
    if region:
        flags = flags.filter(codes.within(codes.normalize(region), "visit__order__region_id"))
    return flags.order_by("-detected_at", "-id")
