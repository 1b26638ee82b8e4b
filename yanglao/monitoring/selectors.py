"""Reads of alarms, always through the actor's scope (DESIGN.md rule 5), the receiving centre's service
level, and the elder's card on the operator console.

Who sees alarms: a role holding alarms.handle, devices.manage or dashboard.view, by region (the alarm's
community lies in the actor's region): operators, community workers, city and district staff,
inspectors and auditors (read-only). Organisation-bound roles (assessors, providers, care workers,
canteen staff) and elders see none: an alarm is a call to the platform, not to their organisation, and
what a provider must know reaches it as a dispatch notification. Anyone else is refused (403)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Case, DurationField, ExpressionWrapper, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from yanglao.accounts.roles import ORGANISATION_BOUND
from yanglao.accounts.scope import people, require_perm, require_region
from yanglao.assessments.selectors import effective_level
from yanglao.core import pii
from yanglao.core.errors import InvalidInput, NotFound, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.monitoring.enums import (
    OPEN_ALARM_STATUSES,
    SEVERITY_RANK,
    AlarmStatus,
    EventType,
    Rule,
    Severity,
)
from yanglao.monitoring.messages import FIELDS
from yanglao.monitoring.models import Alarm, AlarmAction, Device, Reading
from yanglao.regions import codes
from yanglao.registry.enums import DisabilityCategory, LivingArrangement, Relation, Sex
from yanglao.registry.enums import Status as ElderStatus
from yanglao.registry.models import Contact
from yanglao.registry.services import elder_reveal_personal_numbers

_READERS = (Perm.ALARMS_HANDLE, Perm.DEVICES_MANAGE, Perm.DASHBOARD_VIEW)

# TEC Quality (UK) Telecare Code of Practice, as DOMAIN.md §8 quotes it: 97.5% of alarm calls answered
# within 60 s and 99% within 180 s. Published figures reproduced exactly, not local policy.
SERVICE_LEVELS = ((60, Decimal("97.5")), (180, Decimal("99")))
# The alarms a person must answer are the ones measured; maintenance alarms are technicians' work.
MEASURED_SEVERITIES = (Severity.CRITICAL, Severity.URGENT)

CARD_READINGS = 20
CARD_ALARMS = 10


def may_read(actor: Any) -> bool:
    """Staff who read alarms by region. An organisation-bound role (assessor, provider, care worker,
    canteen) reads none: alarms are not its organisation's work, even for an elder it is linked to."""
    if not getattr(actor, "is_authenticated", False):
        return False
    if actor.is_superuser:
        return True
    if getattr(actor, "role", "") in ORGANISATION_BOUND:
        return False
    return any(actor.has_perm(p) for p in _READERS)


def alarms_visible(actor: Any) -> QuerySet[Alarm]:
    """Every alarm the actor may see (none for a role that does not read alarms)."""
    base = Alarm.objects.select_related("elder", "device", "region", "acknowledged_by", "resolved_by")
    if not may_read(actor):
        return base.none()
    return people(actor, base, region_field="region_id")


def _require_reader(actor: Any) -> None:
    if not may_read(actor):
        raise PermissionDenied("您的角色没有查看告警的权限")


def _rank() -> Case:
    return Case(
        *[When(severity=severity, then=Value(rank)) for severity, rank in SEVERITY_RANK.items()],
        default=Value(len(SEVERITY_RANK)),
        output_field=IntegerField(),
    )


def _choices(values: Any, allowed: list[str], *, field: str, what: str) -> list[str]:
    if values is None or values == "":
        return []
    items = [values] if isinstance(values, str) else list(values)
    items = [str(v).strip() for v in items if str(v).strip()]
    bad = [v for v in items if v not in allowed]
    if bad:
        raise InvalidInput(f"{what}“{bad[0]}”无效，可选：{'、'.join(allowed)}", field=field)
    return items


def alarm_list(
    actor: Any,
    *,
    status: str | list[str] | None = None,
    severity: str | list[str] | None = None,
    rule: str | list[str] | None = None,
    region: str | None = None,
    open_only: bool = False,
    elder_id: int | None = None,
) -> QuerySet[Alarm]:
    """Alarms in the actor's scope, critical first, then the longest waiting first."""
    _require_reader(actor)
    statuses = _choices(status, AlarmStatus.values, field="status", what="状态")
    severities = _choices(severity, Severity.values, field="severity", what="级别")
    rules = _choices(rule, Rule.values, field="rule", what="规则")
    queryset = alarms_visible(actor)
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    if severities:
        queryset = queryset.filter(severity__in=severities)
    if rules:
        queryset = queryset.filter(rule__in=rules)
    if region:
        queryset = queryset.filter(codes.within(codes.normalize(region, field="region"), "region_id"))
    if open_only:
        queryset = queryset.filter(status__in=OPEN_ALARM_STATUSES)
    if elder_id is not None:
        queryset = queryset.filter(elder_id=elder_id)
    return queryset.annotate(severity_rank=_rank()).order_by("severity_rank", "raised_at", "id")


def alarm_get(actor: Any, alarm_id: int) -> Alarm:
    """One alarm in the actor's scope; outside it the answer is the same as for no such alarm."""
    _require_reader(actor)
    found = alarms_visible(actor).filter(pk=alarm_id).first()
    if found is None:
        raise NotFound("未找到该告警，或不在您的管辖范围内")
    return found


def alarm_history(alarm: Alarm) -> list[AlarmAction]:
    """Every step of the alarm's handling, oldest first."""
    return list(alarm.actions.select_related("actor").order_by("at", "id"))


# --- service level -----------------------------------------------------------------------------------
def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _moment(value: datetime | date, *, field: str) -> datetime:
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, date):
        return timezone.make_aware(datetime.combine(value, datetime.min.time()))
    raise InvalidInput("请填写时间", field=field)


def service_level(
    actor: Any,
    *,
    since: datetime | date,
    until: datetime | date | None = None,
    region: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """How fast alarms raised in [since, until) were acknowledged, against TEC Quality's 97.5% within
    60 s and 99% within 180 s. Critical and urgent alarms count; one still unacknowledged counts as a
    miss once older than the limit, and is left out of that limit's share until then."""
    _require_reader(actor)
    now = now or timezone.now()
    start = _moment(since, field="since")
    end = _moment(until, field="until") if until is not None else now
    if end <= start:
        raise InvalidInput("结束时间应晚于开始时间", field="until")
    queryset = alarms_visible(actor).filter(
        severity__in=MEASURED_SEVERITIES, raised_at__gte=start, raised_at__lt=end
    )
    if region:
        queryset = queryset.filter(codes.within(codes.normalize(region, field="region"), "region_id"))
    answer = ExpressionWrapper(F("acknowledged_at") - F("raised_at"), output_field=DurationField())
    queryset = queryset.order_by().annotate(answer=answer)
    count = queryset.count()
    acknowledged = queryset.filter(acknowledged_at__isnull=False)
    answered_count = acknowledged.count()
    levels = []
    for seconds, target in SERVICE_LEVELS:
        limit = timedelta(seconds=seconds)
        within = acknowledged.filter(answer__lte=limit).count()
        late = acknowledged.filter(answer__gt=limit).count()
        overdue = queryset.filter(acknowledged_at__isnull=True, raised_at__lt=now - limit).count()
        measured = within + late + overdue
        share = _percent(within, measured)
        levels.append(
            {
                "limit_seconds": seconds,
                "target_percent": target,
                "within": within,
                "measured": measured,
                "missed": late + overdue,
                "share_percent": share,
                # Compared exactly (39 of 40 is 97.5%, not 97.4999…).
                "met": None if not measured else Decimal(within) * 100 >= target * measured,
            }
        )
    median = None
    if answered_count:
        middle = (answered_count - 1) // 2
        pair = list(
            acknowledged.order_by("answer", "id").values_list("answer", flat=True)[middle : middle + 2]
        )
        if answered_count % 2 == 1 or len(pair) == 1:
            median = pair[0].total_seconds()
        else:
            median = (pair[0].total_seconds() + pair[1].total_seconds()) / 2
    return {
        "since": start,
        "until": end,
        "count": count,
        "acknowledged": answered_count,
        "unacknowledged": count - answered_count,
        "median_answer_seconds": median,
        "levels": levels,
        "met": all(level["met"] is not False for level in levels),
    }


# --- the elder's card --------------------------------------------------------------------------------
def _label(choices: Any, value: str) -> dict[str, str]:
    if not value:
        return {"code": "", "label": ""}
    try:
        return {"code": value, "label": str(choices(value).label)}
    except ValueError:
        return {"code": value, "label": value}


# How the card names the numbers a message carries (messages.FIELDS).
VALUE_LABELS = {
    "level": ("浓度", ""),
    "count": ("活动次数", ""),
    "open": ("开门", ""),
    "in_bed": ("在床", ""),
    "systolic": ("收缩压", "mmHg"),
    "diastolic": ("舒张压", "mmHg"),
    "pulse": ("脉搏", "次/分"),
    "bpm": ("心率", "次/分"),
    "litres": ("累计用水", "升"),
    "flow_lpm": ("流量", "升/分"),
    "kwh": ("累计用电", "千瓦时"),
    "watts": ("功率", "瓦"),
    "m3": ("累计用气", "立方米"),
}


def _reading_values(reading: Reading) -> dict[str, float | None]:
    names = FIELDS.get(reading.type, ())
    values = (reading.value1, reading.value2, reading.value3)
    return {name: values[i] for i, name in enumerate(names)}


def _reading_text(values: dict[str, float | None]) -> str:
    parts = []
    for name, value in values.items():
        if value is None:
            continue
        label, unit = VALUE_LABELS.get(name, (name, ""))
        parts.append(f"{label} {value:g}{(' ' + unit) if unit else ''}")
    return "，".join(parts)


def elder_card(actor: Any, elder: Any, *, unmasked: bool = False) -> dict[str, Any]:
    """What the console shows beside an alarm: where the elder lives, their conditions, whom to call,
    the last readings and past alarms. Phone numbers are masked unless `unmasked` is asked by a role
    with pii.view; that view is audited (registry's elder_reveal_personal_numbers), as every unmasked
    view is (DESIGN.md rule 5)."""
    _require_reader(actor)
    require_region(actor, elder.residence_region_id, hide=True)
    if unmasked:
        require_perm(actor, Perm.PII_VIEW)
        elder_reveal_personal_numbers(actor=actor, elder=elder)

    def phone(value: str) -> str:
        return value if unmasked else pii.mask_phone(value)

    level = effective_level(elder.pk)
    household = elder.household
    mine = Q(elder_id=elder.pk)
    if elder.household_id:
        mine |= Q(household_id=elder.household_id)  # the home's meters and detectors
    devices = list(Device.objects.filter(mine).order_by("kind", "serial"))
    serials = {d.pk: d.serial for d in devices}
    readings = list(
        Reading.objects.filter(Q(elder_id=elder.pk) | Q(device_id__in=list(serials))).order_by("-at", "-id")[
            :CARD_READINGS
        ]
    )
    alarms = list(Alarm.objects.filter(elder_id=elder.pk).order_by("-raised_at", "-id")[:CARD_ALARMS])
    contacts = Contact.objects.filter(elder_id=elder.pk).order_by("-is_emergency", "id")
    today = timezone.localdate()
    born = elder.birth_date
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    address = elder.address or (household.address if household else "")
    has_position = elder.latitude is not None and elder.longitude is not None
    return {
        # The few facts the console's header and map need, flat; the sections below have the rest.
        "name": elder.name,
        "address": address,
        "position": {"latitude": elder.latitude, "longitude": elder.longitude} if has_position else None,
        "elder": {
            "id": elder.pk,
            "name": elder.name,
            "sex": _label(Sex, elder.sex),
            "age": age,
            "status": _label(ElderStatus, elder.status),
            "phone": phone(elder.phone) if elder.phone else "",
            "region": elder.residence_region_id,
            "region_name": elder.residence_region.name,
            "address": address,
            "household_id": elder.household_id,
            "latitude": elder.latitude,
            "longitude": elder.longitude,
        },
        "conditions": {
            "living_arrangement": _label(LivingArrangement, elder.living_arrangement),
            "dementia": elder.dementia,
            "disability_category": _label(DisabilityCategory, elder.disability_category),
            "disability_grade": elder.disability_grade,
            "ability_level": (
                {"code": level.final_level, "label": level.level_label or level.get_final_level_display()}
                if level
                else None
            ),
            "family_doctor": elder.family_doctor,
        },
        "contacts": [
            {
                "name": c.name,
                "relation": _label(Relation, c.relation),
                "phone": phone(c.phone),
                "is_emergency": c.is_emergency,
                "guardian": c.guardian,
            }
            for c in contacts
        ],
        "devices": [
            {
                "id": d.pk,
                "kind": d.kind,
                "kind_label": str(d.get_kind_display()),
                "serial": d.serial,
                "status": d.status,
                "last_seen_at": d.last_seen_at,
                "battery": d.battery,
            }
            for d in devices
        ],
        "readings": [
            {
                "at": r.at,
                "type": r.type,
                "type_label": _label(EventType, r.type)["label"],
                "device": serials.get(r.device_id, ""),
                "values": _reading_values(r),
                "text": _reading_text(_reading_values(r)),
            }
            for r in readings
        ],
        "alarms": [
            {
                "id": a.pk,
                "rule": a.rule,
                "rule_label": str(a.get_rule_display()),
                "severity": a.severity,
                "status": a.status,
                "status_label": str(a.get_status_display()),
                "summary": a.summary,
                "raised_at": a.raised_at,
                "outcome": a.outcome,
                "outcome_label": str(a.get_outcome_display()) if a.outcome else "",
            }
            for a in alarms
        ],
        "unmasked": unmasked,
    }
