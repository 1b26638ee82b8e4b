"""The alarms API (DOMAIN.md §8): the alarms in the caller's scope with filters, one alarm with its
history, the handling steps (acknowledge, dispatch, resolve), the receiving centre's service level, the
elder's card for the console, and a household's own rule thresholds.

The thresholds live under /monitoring/elders/… so they never collide with the registry's /elders router.

(No `from __future__ import annotations` here: django-ninja reads `Query[...]` parameters at import.)"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from yanglao.accounts.scope import require_perm
from yanglao.core import policy
from yanglao.core.permissions import Perm
from yanglao.monitoring import policies, selectors, services
from yanglao.monitoring.enums import AlarmStatus, DispatchTarget, Outcome, Rule, Severity
from yanglao.monitoring.models import Alarm, AlarmAction, ElderThreshold
from yanglao.registry import selectors as registry_selectors

router = Router(tags=["monitoring"])


def _label(choices: Any, value: str) -> str:
    if not value:
        return ""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


class AlarmOut(Schema):
    id: int
    rule: str
    rule_label: str
    severity: str
    severity_label: str
    status: str
    status_label: str
    situation: str
    elder_id: int | None
    elder_name: str
    device_id: int | None
    device_serial: str
    region: str
    region_name: str
    summary: str
    detail: dict
    first_at: datetime
    last_at: datetime
    raised_at: datetime
    message_count: int
    acknowledged_at: datetime | None
    acknowledged_by: str
    dispatched_at: datetime | None
    dispatched_to: list[str]
    resolved_at: datetime | None
    resolved_by: str
    outcome: str
    outcome_label: str
    note: str
    escalation_level: int
    escalated_at: datetime | None

    @staticmethod
    def resolve_rule_label(alarm: Alarm) -> str:
        return _label(Rule, alarm.rule)

    @staticmethod
    def resolve_severity_label(alarm: Alarm) -> str:
        return _label(Severity, alarm.severity)

    @staticmethod
    def resolve_status_label(alarm: Alarm) -> str:
        return _label(AlarmStatus, alarm.status)

    @staticmethod
    def resolve_outcome_label(alarm: Alarm) -> str:
        return _label(Outcome, alarm.outcome)

    @staticmethod
    def resolve_elder_name(alarm: Alarm) -> str:
        return alarm.elder.name if alarm.elder_id and alarm.elder else ""

    @staticmethod
    def resolve_device_serial(alarm: Alarm) -> str:
        return alarm.device.serial if alarm.device_id and alarm.device else ""

    @staticmethod
    def resolve_region(alarm: Alarm) -> str:
        return alarm.region_id

    @staticmethod
    def resolve_region_name(alarm: Alarm) -> str:
        return alarm.region.name

    @staticmethod
    def resolve_acknowledged_by(alarm: Alarm) -> str:
        user = alarm.acknowledged_by
        return (user.full_name or user.get_username()) if user else ""

    @staticmethod
    def resolve_resolved_by(alarm: Alarm) -> str:
        user = alarm.resolved_by
        return (user.full_name or user.get_username()) if user else ""


class ActionOut(Schema):
    at: datetime
    action: str
    label: str
    target: str
    target_label: str
    actor: str
    note: str
    data: dict

    @staticmethod
    def resolve_label(row: AlarmAction) -> str:
        return services.ACTION_LABELS.get(row.action, row.action)

    @staticmethod
    def resolve_target_label(row: AlarmAction) -> str:
        return _label(DispatchTarget, row.target)

    @staticmethod
    def resolve_actor(row: AlarmAction) -> str:
        return row.actor_name


class AlarmDetailOut(AlarmOut):
    history: list[ActionOut]

    @staticmethod
    def resolve_history(alarm: Alarm) -> list:
        return selectors.alarm_history(alarm)


@router.get("/alarms", response=list[AlarmOut], summary="Alarms in the caller's scope")
@paginate(PageNumberPagination, page_size=50)
def list_alarms(
    request,
    status: list[str] = Query([]),  # noqa: B008 (ninja reads the default at import)
    severity: list[str] = Query([]),  # noqa: B008
    rule: list[str] = Query([]),  # noqa: B008
    region: str = "",
    open_only: bool = False,
    elder: int | None = None,
):
    """Critical first, then the longest waiting first. `status`, `severity` and `rule` may repeat; an
    unknown value is a 400 naming the parameter."""
    return selectors.alarm_list(
        request.user,
        status=status,
        severity=severity,
        rule=rule,
        region=region or None,
        open_only=open_only,
        elder_id=elder,
    )


class LevelOut(Schema):
    limit_seconds: int
    target_percent: Decimal
    within: int
    measured: int
    missed: int
    share_percent: Decimal | None
    met: bool | None


class ServiceLevelOut(Schema):
    since: datetime
    until: datetime
    count: int
    acknowledged: int
    unacknowledged: int
    median_answer_seconds: float | None
    levels: list[LevelOut]
    met: bool


@router.get(
    "/alarms/service-level",
    response=ServiceLevelOut,
    summary="Share of alarms acknowledged within 60 s and 180 s (TEC Quality: 97.5% and 99%)",
)
def service_level(request, since: datetime, until: datetime | None = None, region: str = ""):
    return selectors.service_level(request.user, since=since, until=until, region=region or None)


@router.get("/alarms/{alarm_id}", response=AlarmDetailOut, summary="One alarm with its history")
def get_alarm(request, alarm_id: int):
    return selectors.alarm_get(request.user, alarm_id)


def _handle(request, alarm_id: int) -> Alarm:
    # A role that may not handle alarms is told so (403) before the alarm is looked up.
    require_perm(request.user, Perm.ALARMS_HANDLE)
    return selectors.alarm_get(request.user, alarm_id)


def _after(request, alarm: Alarm) -> Alarm:
    return selectors.alarm_get(request.user, alarm.pk)


@router.post("/alarms/{alarm_id}/acknowledge", response=AlarmDetailOut, summary="Answer a new alarm")
def acknowledge(request, alarm_id: int):
    alarm = _handle(request, alarm_id)
    return _after(request, services.alarm_acknowledge(actor=request.user, alarm=alarm))


class DispatchIn(Schema):
    targets: list[str] = Field(description="family, community_worker, provider, ambulance (120)")
    note: str = ""


@router.post("/alarms/{alarm_id}/dispatch", response=AlarmDetailOut, summary="Send help (family, …, 120)")
def dispatch(request, alarm_id: int, body: DispatchIn):
    alarm = _handle(request, alarm_id)
    done = services.alarm_dispatch(actor=request.user, alarm=alarm, targets=body.targets, note=body.note)
    return _after(request, done)


class ResolveIn(Schema):
    outcome: str = Field("", description="false_alarm, handled_at_home, sent_to_hospital, family_handled, …")
    note: str = ""


@router.post("/alarms/{alarm_id}/resolve", response=AlarmDetailOut, summary="Close with an outcome")
def resolve(request, alarm_id: int, body: ResolveIn):
    alarm = _handle(request, alarm_id)
    done = services.alarm_resolve(actor=request.user, alarm=alarm, outcome=body.outcome, note=body.note)
    return _after(request, done)


# --- the elder's card and a household's thresholds ------------------------------------------------------
@router.get("/monitoring/elders/{elder_id}/card", response=dict, summary="The elder's card on the console")
def elder_card(request, elder_id: int, unmasked: bool = False):
    """`unmasked=true`: full phone numbers, for a caller with pii.view (audited)."""
    elder = registry_selectors.elder_get(request.user, elder_id)
    return selectors.elder_card(request.user, elder, unmasked=unmasked)


class ThresholdOut(Schema):
    key: str
    label: str
    unit: str
    minimum: float | None
    maximum: float | None
    city_value: float
    own_value: float | None
    value: float
    note: str
    set_at: datetime | None


def _threshold_rows(elder_id: int) -> list[dict[str, Any]]:
    own = {row.key: row for row in ElderThreshold.objects.filter(elder_id=elder_id)}
    rows = []
    for key, setting in policies.HOUSEHOLD_KEYS.items():
        city = float(policy.value(setting))
        mine = own.get(key)
        rows.append(
            {
                "key": key,
                "label": str(setting.label),
                "unit": str(setting.unit),
                "minimum": setting.minimum,
                "maximum": setting.maximum,
                "city_value": city,
                "own_value": mine.value if mine else None,
                "value": mine.value if mine else city,
                "note": mine.note if mine else "",
                "set_at": mine.set_at if mine else None,
            }
        )
    return rows


@router.get(
    "/monitoring/elders/{elder_id}/thresholds",
    response=list[ThresholdOut],
    summary="A household's rule thresholds: the city value and its own",
)
def thresholds(request, elder_id: int):
    elder = registry_selectors.elder_get(request.user, elder_id)
    return _threshold_rows(elder.pk)


class ThresholdIn(Schema):
    value: int | float
    note: str = ""


@router.put(
    "/monitoring/elders/{elder_id}/thresholds/{key}",
    response=ThresholdOut,
    summary="Set a household's own value of a rule threshold",
)
def set_threshold(request, elder_id: int, key: str, body: ThresholdIn):
    elder = registry_selectors.elder_get(request.user, elder_id)
    row = services.threshold_set(actor=request.user, elder=elder, key=key, value=body.value, note=body.note)
    return next(r for r in _threshold_rows(elder.pk) if r["key"] == row.key)


@router.delete(
    "/monitoring/elders/{elder_id}/thresholds/{key}",
    response={204: None},
    summary="Drop a household's own value (the city value applies again)",
)
def clear_threshold(request, elder_id: int, key: str):
    elder = registry_selectors.elder_get(request.user, elder_id)
    services.threshold_clear(actor=request.user, elder=elder, key=key)
    return Status(204, None)
