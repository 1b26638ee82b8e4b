"""Handling alarms (DOMAIN.md §8): new → acknowledged → dispatched (family, community worker, provider,
120) → resolved with an outcome; escalation to the supervisors when nobody acknowledges in time; and a
household's own rule thresholds.

Every step locks the alarm row first, so two operators answering one alarm at once are put in turn and
the second is judged on the state the first left (and told so: 409 naming the state). Each step writes
its history row (AlarmAction) and its audit row in the step's transaction; notifications are queued in
the same transaction (the outbox sends them after the commit) and `events.alarm_changed` is sent after
the commit, for the live console.

Who may: a person holding alarms.handle (city administrators, community workers, operators) for an alarm
in their region; outside it the alarm is "not found". Named system jobs (the escalation timer) are
trusted. Dispatching or resolving an alarm nobody has acknowledged acknowledges it at that moment (the
operator answered it by acting on it): the history shows both steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from yanglao.accounts.scope import is_person, require_perm, require_region
from yanglao.core import audit, policy
from yanglao.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.monitoring import events, notify, policies
from yanglao.monitoring.enums import AlarmStatus, DispatchTarget, Outcome, Severity
from yanglao.monitoring.models import Alarm, AlarmAction, ElderThreshold

S = AlarmStatus
NOTE_MAX = 500
THRESHOLD_NOTE_MAX = 200
# Outcomes that say nothing by themselves: the operator must write what happened.
NOTE_REQUIRED = frozenset({Outcome.OTHER, Outcome.FALSE_ALARM})
# Alarms a person must answer; maintenance alarms (offline, battery) are work for a technician, not a
# call to answer within a minute, so they are not escalated.
ANSWERED = (Severity.CRITICAL, Severity.URGENT)
ESCALATION_ACTOR = "escalation"
ESCALATION_BATCH = 200


@dataclass(frozen=True)
class Step:
    label: str  # what an operator calls the action, for messages
    sources: frozenset[str]
    target: str


STEPS: dict[str, Step] = {
    "acknowledge": Step("响应", frozenset({S.NEW}), S.ACKNOWLEDGED),
    "dispatch": Step("派遣", frozenset({S.NEW, S.ACKNOWLEDGED, S.DISPATCHED}), S.DISPATCHED),
    "resolve": Step("处置完成", frozenset({S.NEW, S.ACKNOWLEDGED, S.DISPATCHED}), S.RESOLVED),
    "escalate": Step("升级", frozenset({S.NEW}), S.NEW),
}
# Labels of every history row (raise and fold are written by ingest and the rules).
ACTION_LABELS = {
    "raise": "告警",
    "acknowledge": "响应",
    "dispatch": "派遣",
    "resolve": "处置完成",
    "escalate": "升级",
}


def _locked(alarm_id: int) -> Alarm:
    """The alarm, row-locked for the rest of the transaction (on SQLite the IMMEDIATE transaction
    already holds the database's write lock)."""
    alarm = (
        Alarm.objects.select_for_update(of=("self",))
        .select_related("elder", "device", "device__household")
        .filter(pk=alarm_id)
        .first()
    )
    if alarm is None:
        raise NotFound("未找到该告警")
    return alarm


def _authorize(actor: Any, alarm: Alarm) -> None:
    if is_person(actor):
        require_perm(actor, Perm.ALARMS_HANDLE)
        require_region(actor, alarm.region_id, hide=True)


def _require(alarm: Alarm, action: str) -> Step:
    step = STEPS[action]
    if alarm.status not in step.sources:
        raise Conflict(
            f"告警当前状态为“{S(alarm.status).label}”，不能{step.label}",
            field="status",
            code="illegal_transition",
        )
    return step


def _actor_name(actor: Any) -> str:
    if is_person(actor):
        return actor.full_name or actor.get_username()
    return str(actor or "system")


def _record(
    alarm: Alarm,
    *,
    action: str,
    actor: Any,
    at: datetime,
    before: str,
    target: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
) -> AlarmAction:
    """The step's history row and audit row (inside the step's transaction)."""
    row = AlarmAction.objects.create(
        alarm=alarm,
        action=action,
        target=target,
        actor=actor if is_person(actor) else None,
        actor_name=_actor_name(actor),
        at=at,
        note=note[:NOTE_MAX],
        data=data or {},
    )
    after: dict[str, Any] = {"status": alarm.status}
    if target:
        after["target"] = target
    if data:
        after.update({k: v for k, v in data.items() if k != "sent"})
    audit.record(
        actor,
        f"alarm.{action}",
        alarm,
        region_code=alarm.region_id,
        before={"status": before},
        after=after,
    )
    return row


def _announce(alarm: Alarm, action: str) -> None:
    alarm_id = alarm.pk
    transaction.on_commit(lambda: events.alarm_changed.send(sender=Alarm, alarm_id=alarm_id, action=action))


def _acknowledge(alarm: Alarm, actor: Any, now: datetime, *, implicit: bool = False) -> None:
    before = alarm.status
    alarm.status = S.ACKNOWLEDGED
    alarm.acknowledged_at = now
    alarm.acknowledged_by = actor if is_person(actor) else None
    alarm.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
    cancelled = notify.cancel_escalation(alarm)
    data: dict[str, Any] = {"answer_seconds": round((now - alarm.raised_at).total_seconds(), 1)}
    if implicit:
        data["implicit"] = True
    if cancelled:
        data["reminders_cancelled"] = cancelled
    _record(alarm, action="acknowledge", actor=actor, at=now, before=before, data=data)


def _clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"说明不能超过 {NOTE_MAX} 字（现为 {len(note)} 字）", field="note")
    return note


@transaction.atomic
def alarm_acknowledge(*, actor: Any, alarm: Alarm) -> Alarm:
    """Answer a new alarm; the time from raising to answering is what the TEC Quality service level
    (97.5% within 60 s, 99% within 180 s; DOMAIN.md §8) measures."""
    alarm = _locked(alarm.pk)
    _authorize(actor, alarm)
    _require(alarm, "acknowledge")
    _acknowledge(alarm, actor, timezone.now())
    _announce(alarm, "acknowledge")
    return alarm


def _clean_targets(targets: Any) -> list[str]:
    if isinstance(targets, str):
        targets = [targets]
    wanted: list[str] = []
    for raw in targets or []:
        value = str(raw or "").strip()
        if value not in DispatchTarget.values:
            choices = "、".join(f"{t.value}（{t.label}）" for t in DispatchTarget)
            raise InvalidInput(f"派遣对象“{value}”无效，可选：{choices}", field="targets")
        if value not in wanted:
            wanted.append(value)
    if not wanted:
        raise InvalidInput("请选择至少一个派遣对象", field="targets")
    return wanted


@transaction.atomic
def alarm_dispatch(*, actor: Any, alarm: Alarm, targets: list[str], note: str = "") -> Alarm:
    """Send help: tell the family, a community worker or a provider (notifications queued), or record
    that 120 was called; from new (acknowledging it), acknowledged, or dispatched (adding targets)."""
    wanted = _clean_targets(targets)
    note = _clean_note(note)
    alarm = _locked(alarm.pk)
    _authorize(actor, alarm)
    _require(alarm, "dispatch")
    now = timezone.now()
    if alarm.status == S.NEW:
        _acknowledge(alarm, actor, now, implicit=True)
    before = alarm.status
    alarm.status = S.DISPATCHED
    alarm.dispatched_at = alarm.dispatched_at or now
    alarm.dispatched_to = [*alarm.dispatched_to, *(t for t in wanted if t not in alarm.dispatched_to)]
    alarm.save(update_fields=["status", "dispatched_at", "dispatched_to"])
    for target in wanted:
        if target == DispatchTarget.AMBULANCE:
            # The operator phones 120; the platform keeps when it was done.
            data: dict[str, Any] = {"called_at": now.isoformat()}
        else:
            data = notify.dispatch(alarm, target)
        _record(
            alarm, action="dispatch", actor=actor, at=now, before=before, target=target, note=note, data=data
        )
        before = alarm.status
    _announce(alarm, "dispatch")
    return alarm


@transaction.atomic
def alarm_resolve(*, actor: Any, alarm: Alarm, outcome: str, note: str = "") -> Alarm:
    """Close an alarm with its outcome; "false alarm" and "other" need a note saying what happened."""
    outcome = (outcome or "").strip()
    if not outcome:
        raise InvalidInput("请选择处置结果", field="outcome")
    if outcome not in Outcome.values:
        choices = "、".join(f"{o.value}（{o.label}）" for o in Outcome)
        raise InvalidInput(f"处置结果“{outcome}”无效，可选：{choices}", field="outcome")
    note = _clean_note(note)
    if outcome in NOTE_REQUIRED and not note:
        raise InvalidInput(f"处置结果为“{Outcome(outcome).label}”时请填写处置说明", field="note")
    alarm = _locked(alarm.pk)
    _authorize(actor, alarm)
    _require(alarm, "resolve")
    now = timezone.now()
    if alarm.status == S.NEW:
        _acknowledge(alarm, actor, now, implicit=True)
    before = alarm.status
    alarm.status = S.RESOLVED
    alarm.resolved_at = now
    alarm.resolved_by = actor if is_person(actor) else None
    alarm.outcome = outcome
    alarm.note = note
    alarm.save(update_fields=["status", "resolved_at", "resolved_by", "outcome", "note"])
    _record(alarm, action="resolve", actor=actor, at=now, before=before, note=note, data={"outcome": outcome})
    _announce(alarm, "resolve")
    return alarm


def _due(now: datetime) -> Q:
    ack = timedelta(seconds=int(policy.value(policies.ACK_SECONDS)))
    again = timedelta(seconds=int(policy.value(policies.ESCALATE_AGAIN_SECONDS)))
    first = Q(escalation_level=0, raised_at__lte=now - ack)
    repeat = Q(escalation_level__gt=0, escalated_at__lte=now - again)
    return Q(status=S.NEW, severity__in=ANSWERED) & (first | repeat)


def alarm_escalate_due(*, now: datetime | None = None) -> int:
    """Escalate every critical or urgent alarm still new ACK_SECONDS after it was raised, and again each
    ESCALATE_AGAIN_SECONDS: level up, tell the supervisors (notify.supervisors). One transaction per
    alarm, each re-checked under its lock, so an acknowledgement a moment earlier wins. Returns how many
    were escalated."""
    now = now or timezone.now()
    due = _due(now)
    ids = list(
        Alarm.objects.filter(due).order_by("raised_at", "id").values_list("pk", flat=True)[:ESCALATION_BATCH]
    )
    escalated = 0
    for alarm_id in ids:
        with transaction.atomic():
            alarm = _locked(alarm_id)
            if not Alarm.objects.filter(due, pk=alarm_id).exists():
                continue  # acknowledged (or escalated by another run) meanwhile
            level = alarm.escalation_level + 1
            alarm.escalation_level = level
            alarm.escalated_at = now
            alarm.save(update_fields=["escalation_level", "escalated_at"])
            waited = int((now - alarm.raised_at).total_seconds())
            sent = notify.escalate(alarm, level, waited)
            _record(
                alarm,
                action="escalate",
                actor=ESCALATION_ACTOR,
                at=now,
                before=alarm.status,
                data={"level": level, "waited_seconds": waited, **sent},
            )
            _announce(alarm, "escalate")
        escalated += 1
    return escalated


# --- a household's own thresholds --------------------------------------------------------------------
def _threshold_authorize(actor: Any, elder: Any) -> None:
    if not is_person(actor):
        return
    if not (actor.has_perm(Perm.ALARMS_HANDLE) or actor.has_perm(Perm.DEVICES_MANAGE)):
        raise PermissionDenied("您的角色没有设置监测阈值的权限")
    require_region(actor, elder.residence_region_id, hide=True)


def threshold_setting(key: str) -> policy.Setting:
    """The policy setting a household may override, by its key (the `monitoring.` prefix optional)."""
    key = (key or "").strip()
    setting = policies.HOUSEHOLD_KEYS.get(key) or policies.HOUSEHOLD_KEYS.get(f"monitoring.{key}")
    if setting is None:
        raise InvalidInput(
            f"参数“{key}”不能按户设置，可设置：{'、'.join(policies.HOUSEHOLD_KEYS)}", field="key"
        )
    return setting


@transaction.atomic
def threshold_set(*, actor: Any, elder: Any, key: str, value: Any, note: str = "") -> ElderThreshold:
    """Give a household its own value of a rule threshold (DOMAIN.md §8: thresholds configurable per
    household), checked against the city setting's bounds."""
    _threshold_authorize(actor, elder)
    setting = threshold_setting(key)
    if isinstance(value, float) and value.is_integer() and isinstance(setting.default, int):
        value = int(value)  # 6.0 from a JSON number is the whole number of hours it means
    number = setting.check(value)
    note = (note or "").strip()
    if len(note) > THRESHOLD_NOTE_MAX:
        raise InvalidInput(f"说明不能超过 {THRESHOLD_NOTE_MAX} 字", field="note")
    row = ElderThreshold.objects.select_for_update().filter(elder_id=elder.pk, key=setting.key).first()
    before = row.value if row is not None else None
    if row is None:
        row = ElderThreshold(elder_id=elder.pk, key=setting.key)
    row.value = float(number)
    row.note = note
    row.set_by = actor if is_person(actor) else None
    row.save()
    audit.record(
        actor,
        "monitoring.threshold_set",
        elder,
        region_code=elder.residence_region_id,
        before={"key": setting.key, "value": before},
        after={"key": setting.key, "value": row.value, "note": note},
    )
    return row


@transaction.atomic
def threshold_clear(*, actor: Any, elder: Any, key: str) -> bool:
    """Drop a household's own value: the city value applies again. Returns whether there was one."""
    _threshold_authorize(actor, elder)
    setting = threshold_setting(key)
    row = ElderThreshold.objects.select_for_update().filter(elder_id=elder.pk, key=setting.key).first()
    if row is None:
        return False
    audit.record(
        actor,
        "monitoring.threshold_clear",
        elder,
        region_code=elder.residence_region_id,
        before={"key": setting.key, "value": row.value},
    )
    row.delete()
    return True
