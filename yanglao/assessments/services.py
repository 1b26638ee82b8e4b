"""Writes of the assessment workflow (DOMAIN.md §2, 先评估后服务). Each service checks the actor's
permission and scope, runs in one transaction with its audit row, and announces after commit.

    assessment_request → assessment_assign → assessment_save_draft … → assessment_attest (×2)
    → assessment_review (approve: effective; return: back to the assessors) ; assessment_cancel
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from yanglao.accounts.models import Organisation
from yanglao.accounts.scope import covers, is_person, require_perm, require_region
from yanglao.assessments import instruments, scoring, signals
from yanglao.assessments.enums import EDITABLE, OPEN, RequestKind, RiskEvent, Status
from yanglao.assessments.models import Assessment
from yanglao.core import audit, policy
from yanglao.core.errors import Conflict, InvalidInput, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.registry.enums import EventKind
from yanglao.registry.enums import Status as ElderStatus

VALIDITY = policy.define(
    "assessments.validity_months", 12, "能力评估结果有效期", minimum=1, maximum=60, unit="个月"
)
REMINDER = policy.define(
    "assessments.reminder_days", 30, "评估结果到期前自动发起常规评估的天数", minimum=1, maximum=180, unit="天"
)
# Elders who can be assessed: not the dead and not those who left the city.
ASSESSABLE = (ElderStatus.ACTIVE, ElderStatus.IN_HOSPITAL, ElderStatus.IN_INSTITUTION)


def _authorize(actor: Any, perm: str, assessment_or_elder: Any) -> None:
    if not is_person(actor):
        return  # a named system job (the expiry reminder) is trusted
    require_perm(actor, perm)
    elder = getattr(assessment_or_elder, "elder", assessment_or_elder)
    require_region(actor, elder.residence_region_id, hide=True)


def require_assessor(actor: Any, assessment: Assessment) -> None:
    """An assessor of the assigned organisation (an assessor sees only their organisation's work)."""
    require_perm(actor, Perm.ASSESSMENTS_PERFORM)
    if assessment.organisation_id is None or actor.organisation_id != assessment.organisation_id:
        raise PermissionDenied("该评估未派给您所在的评估机构")


def _locked(assessment: Assessment) -> Assessment:
    """The row again under a lock, so two people acting at once are serialised and see each other."""
    return Assessment.objects.select_for_update().select_related("elder").get(pk=assessment.pk)


def effective_of(elder_id: int) -> Assessment | None:
    return Assessment.objects.filter(elder_id=elder_id, status=Status.EFFECTIVE).first()


@transaction.atomic
def assessment_request(
    *, actor: Any, elder: Any, kind: str, reason: str = "", instrument: str = instruments.DEFAULT
) -> Assessment:
    """Request an assessment; an elder has at most one open request (DOMAIN.md §2 workflow)."""
    _authorize(actor, Perm.ASSESSMENTS_REQUEST, elder)
    if kind not in RequestKind.values:
        raise InvalidInput(f"评估类型“{kind}”无效", field="kind")
    definition = instruments.get(instrument)
    if elder.status not in ASSESSABLE:
        raise Conflict(f"该老人状态为“{elder.get_status_display()}”，不能申请评估", field="kind")
    reason = reason.strip()
    previous = effective_of(elder.pk)
    if kind == RequestKind.FIRST and previous is not None:
        raise Conflict("该老人已有生效的评估结果，请选择常规评估、即时评估或复评", field="kind")
    if kind == RequestKind.DISPUTE and previous is None:
        raise Conflict("该老人没有生效的评估结果，无法申请复评", field="kind")
    if kind in (RequestKind.IMMEDIATE, RequestKind.DISPUTE) and not reason:
        label = (
            "即时评估请说明老人身体或认知发生了什么变化"
            if kind == RequestKind.IMMEDIATE
            else "复评请说明对原结果的异议"
        )
        raise InvalidInput(label, field="reason")
    if Assessment.objects.filter(elder=elder, status__in=OPEN).exists():
        raise Conflict("该老人已有进行中的评估申请，请勿重复申请", field="kind")
    try:
        with transaction.atomic():
            assessment = Assessment.objects.create(
                elder=elder,
                kind=kind,
                reason=reason,
                instrument=definition.code,
                requested_by=actor if is_person(actor) else None,
                previous=previous,
            )
    except IntegrityError:
        # Two clerks pressed the button at once: the one-open-request constraint lets one through.
        raise Conflict("该老人已有进行中的评估申请，请勿重复申请", field="kind") from None
    audit.record(
        actor,
        "assessment.request",
        assessment,
        region_code=elder.residence_region_id,
        after={"elder": elder.pk, "kind": kind, "instrument": definition.code, "reason": reason},
    )
    return assessment


@transaction.atomic
def assessment_assign(*, actor: Any, assessment: Assessment, organisation: Organisation) -> Assessment:
    """Assign (or re-assign, before the assessors start) a request to an assessment organisation."""
    assessment = _locked(assessment)
    _authorize(actor, Perm.ASSESSMENTS_REVIEW, assessment)
    if assessment.status not in (Status.REQUESTED, Status.ASSIGNED):
        raise Conflict(f"评估状态为“{assessment.get_status_display()}”，不能再派单", field="organisation")
    if organisation.kind != Organisation.Kind.ASSESSOR or not organisation.is_active:
        raise InvalidInput(f"“{organisation.name}”不是启用中的评估机构", field="organisation")
    if not covers_organisation(organisation, assessment.elder.residence_region_id):
        raise InvalidInput(f"“{organisation.name}”的服务区域不含该老人所在社区", field="organisation")
    before = {"organisation": assessment.organisation_id, "status": assessment.status}
    assessment.organisation = organisation
    assessment.assigned_by = actor if is_person(actor) else None
    assessment.assigned_at = timezone.now()
    assessment.status = Status.ASSIGNED
    assessment.save(update_fields=["organisation", "assigned_by", "assigned_at", "status", "updated_at"])
    audit.record(
        actor,
        "assessment.assign",
        assessment,
        region_code=assessment.elder.residence_region_id,
        before=before,
        after={"organisation": organisation.pk, "status": assessment.status},
    )
    return assessment


def covers_organisation(organisation: Organisation, region_code: str) -> bool:
    """An assessment organisation works in the region it is registered under (a city-wide one anywhere)."""
    return region_code.startswith(organisation.region_id)


def clean_risk_events(raw: Any) -> dict[str, int]:
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise InvalidInput("照护风险事件应为 {类型: 次数}", field="risk_events")
    found = {}
    for kind, count in raw.items():
        if kind not in RiskEvent.values:
            raise InvalidInput(f"照护风险事件类型“{kind}”无效", field="risk_events")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= scoring.MAX_RISK_EVENTS:
            label = RiskEvent(kind).label
            raise InvalidInput(
                f"“{label}”次数应为 0～{scoring.MAX_RISK_EVENTS} 的整数", field=f"risk_events.{kind}"
            )
        if count:
            found[kind] = count
    return found


_DRAFT_FIELDS = ("answers", "coma", "diagnoses", "risk_events", "assessed_on", "place", "notes")


@transaction.atomic
def assessment_save_draft(*, actor: Any, assessment: Assessment, **changes: Any) -> Assessment:
    """Save what the assessors have entered so far (autosave). Given answers are checked item by item;
    answers are merged, so two tablets filling different groups do not overwrite each other. Any change
    after an attestation withdraws it: both assessors attest the same answers."""
    assessment = _locked(assessment)
    require_assessor(actor, assessment)
    if assessment.status not in EDITABLE:
        raise Conflict(f"评估状态为“{assessment.get_status_display()}”，不能修改", field="answers")
    unknown = set(changes) - set(_DRAFT_FIELDS)
    if unknown:
        raise InvalidInput(f"不能修改的字段：{'、'.join(sorted(unknown))}", field=sorted(unknown)[0])
    definition = instruments.get(assessment.instrument)
    before = {name: getattr(assessment, name) for name in _DRAFT_FIELDS}
    if "answers" in changes:
        given = scoring.check_answers(definition, changes["answers"] or {}, partial=True)
        merged = {**assessment.answers, **given}
        for key, value in (changes["answers"] or {}).items():
            if value is None:
                merged.pop(str(key).strip(), None)
        assessment.answers = dict(sorted(merged.items(), key=lambda kv: int(kv[0])))
    if "diagnoses" in changes:
        assessment.diagnoses = scoring.check_diagnoses(changes["diagnoses"])
    if "risk_events" in changes:
        assessment.risk_events = clean_risk_events(changes["risk_events"])
    if "coma" in changes:
        assessment.coma = bool(changes["coma"])
    if "assessed_on" in changes:
        on = changes["assessed_on"]
        if on is not None and on > timezone.localdate():
            raise InvalidInput("评估日期不能晚于今天", field="assessed_on")
        assessment.assessed_on = on
    for name in ("place", "notes"):
        if name in changes:
            setattr(assessment, name, (changes[name] or "").strip())
    after = {name: getattr(assessment, name) for name in _DRAFT_FIELDS}
    if after == before and assessment.status != Status.ASSIGNED:
        return assessment
    withdrawn = after != before and (assessment.attested_1_at or assessment.attested_2_at)
    if withdrawn:
        assessment.assessor_1 = assessment.assessor_2 = None
        assessment.attested_1_at = assessment.attested_2_at = None
    assessment.status = Status.IN_PROGRESS
    assessment.draft_saved_at = timezone.now()
    assessment.save()
    before_diff, after_diff = audit.changed_fields(before, after)
    audit.record(
        actor,
        "assessment.draft",
        assessment,
        region_code=assessment.elder.residence_region_id,
        before=before_diff,
        after={**after_diff, **({"attestations": "withdrawn"} if withdrawn else {})},
    )
    return assessment


def result_of(assessment: Assessment) -> scoring.Score:
    """Score the saved answers (raises Unprocessable naming each unanswered item)."""
    return scoring.score(
        instruments.get(assessment.instrument),
        assessment.answers,
        coma=assessment.coma,
        diagnoses=assessment.diagnoses,
        risk_events_30d=assessment.risk_events_30d,
    )


@transaction.atomic
def assessment_attest(*, actor: Any, assessment: Assessment) -> Assessment:
    """An assessor attests the answers as the on-site finding; the second distinct assessor's attestation
    freezes the result and sends it for review (two assessors on site, DOMAIN.md §2)."""
    assessment = _locked(assessment)
    require_assessor(actor, assessment)
    if assessment.status not in (Status.IN_PROGRESS, Status.RETURNED, Status.ASSIGNED):
        raise Conflict(f"评估状态为“{assessment.get_status_display()}”，不能确认", field="attest")
    if actor.pk in (assessment.assessor_1_id, assessment.assessor_2_id):
        raise Conflict("您已确认过本次评估，需由另一名评估员确认", field="attest")
    result = result_of(assessment)
    if assessment.assessed_on is None:
        raise InvalidInput("请填写评估日期", field="assessed_on")
    now = timezone.now()
    if assessment.assessor_1_id is None:
        assessment.assessor_1, assessment.attested_1_at = actor, now
    else:
        assessment.assessor_2, assessment.attested_2_at = actor, now
    action = "assessment.attest"
    if assessment.assessor_2_id is not None:
        _freeze(assessment, result)
        assessment.status = Status.SUBMITTED
        assessment.submitted_at = now
        action = "assessment.submit"
    else:
        assessment.status = Status.IN_PROGRESS
    assessment.save()
    audit.record(
        actor,
        action,
        assessment,
        region_code=assessment.elder.residence_region_id,
        after={"total": result.total, "final_level": result.final.code, "status": assessment.status},
    )
    return assessment


def _freeze(assessment: Assessment, result: scoring.Score) -> None:
    assessment.total = result.total
    assessment.group_scores = result.groups
    assessment.preliminary_level = result.preliminary.code
    assessment.final_level = result.final.code
    assessment.level_label = result.final.label
    assessment.adjustments = [
        {"code": a.code, "label": a.label, "effect": a.effect} for a in result.adjustments
    ]


def add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@transaction.atomic
def assessment_review(*, actor: Any, assessment: Assessment, approve: bool, note: str = "") -> Assessment:
    """Approve a submitted assessment (it takes effect for the policy's validity period and replaces the
    elder's earlier level) or return it to the assessors with the reason."""
    assessment = _locked(assessment)
    _authorize(actor, Perm.ASSESSMENTS_REVIEW, assessment)
    if assessment.status != Status.SUBMITTED:
        raise Conflict(f"评估状态为“{assessment.get_status_display()}”，不能审核", field="approve")
    if is_person(actor) and actor.pk in (assessment.assessor_1_id, assessment.assessor_2_id):
        raise PermissionDenied("评估员不能审核自己参与的评估")
    note = note.strip()
    now = timezone.now()
    assessment.reviewed_by = actor if is_person(actor) else None
    assessment.reviewed_at = now
    assessment.review_note = note
    previous = None
    if approve:
        today = timezone.localdate()
        definition = instruments.get(assessment.instrument)
        if definition.determines_ability_level:
            previous = effective_of(assessment.elder_id)
            if previous is not None:
                previous.status = Status.SUPERSEDED
                previous.save(update_fields=["status", "updated_at"])
        assessment.status = Status.EFFECTIVE if definition.determines_ability_level else Status.RECORDED
        # The result describes the elder as found on the assessment day, so it counts from then: an
        # approval that comes in a later month makes benefits owed for the months between (back-pay).
        start = assessment.assessed_on or today
        assessment.valid_from = start
        assessment.valid_until = add_months(start, policy.value(VALIDITY, on=today)) - timedelta(days=1)
    else:
        if not note:
            raise InvalidInput("退回时请写明需要修改的内容", field="note")
        assessment.status = Status.RETURNED
        assessment.assessor_1 = assessment.assessor_2 = None
        assessment.attested_1_at = assessment.attested_2_at = None
    assessment.save()
    audit.record(
        actor,
        "assessment.approve" if approve else "assessment.return",
        assessment,
        region_code=assessment.elder.residence_region_id,
        after={
            "status": assessment.status,
            "final_level": assessment.final_level,
            "valid_until": assessment.valid_until,
            "note": note,
            "superseded": previous.pk if previous else None,
        },
    )
    if approve and assessment.status == Status.EFFECTIVE:
        transaction.on_commit(
            lambda: signals.level_effective.send(sender=Assessment, assessment=assessment, previous=previous)
        )
    return assessment


@transaction.atomic
def assessment_cancel(*, actor: Any, assessment: Assessment, reason: str) -> Assessment:
    """Cancel an open request before it is submitted (the elder declined, a duplicate, …)."""
    assessment = _locked(assessment)
    _authorize(actor, Perm.ASSESSMENTS_REQUEST, assessment)
    if assessment.status not in (Status.REQUESTED, Status.ASSIGNED, Status.IN_PROGRESS, Status.RETURNED):
        raise Conflict(f"评估状态为“{assessment.get_status_display()}”，不能撤销", field="reason")
    reason = reason.strip()
    if not reason:
        raise InvalidInput("请填写撤销原因", field="reason")
    before = assessment.status
    assessment.status = Status.CANCELLED
    assessment.cancel_reason = reason
    assessment.save(update_fields=["status", "cancel_reason", "updated_at"])
    audit.record(
        actor,
        "assessment.cancel",
        assessment,
        region_code=assessment.elder.residence_region_id,
        before={"status": before},
        after={"status": assessment.status, "reason": reason},
    )
    return assessment


@transaction.atomic
def assessments_follow_life_event(*, event: Any) -> int:
    """A death or a move out of the city cancels the elder's open requests and ends the effective level
    at the event's date; correcting the event restores them (registry's life_event_recorded)."""
    elder_id = event.elder_id
    if event.reverses_id:
        restored = 0
        for assessment in Assessment.objects.select_for_update().filter(
            cancelled_for_event=event.reverses_id
        ):
            assessment.status = assessment.status_before_cancel
            assessment.cancelled_for_event = None
            assessment.status_before_cancel = ""
            assessment.cancel_reason = ""
            assessment.save()
            audit.record(
                "life-events",
                "assessment.restore",
                assessment,
                region_code=assessment.elder.residence_region_id,
                after={"status": assessment.status},
            )
            restored += 1
        return restored
    if event.kind not in (EventKind.DEATH, EventKind.MOVE_OUT):
        return 0
    changed = 0
    label = event.get_kind_display()
    for assessment in (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("elder")
        .filter(elder_id=elder_id, status__in=[*OPEN, Status.EFFECTIVE])
    ):
        assessment.status_before_cancel = assessment.status
        assessment.cancelled_for_event = event.pk
        if assessment.status == Status.EFFECTIVE:
            assessment.status = Status.EXPIRED
            assessment.cancel_reason = f"{label}（{event.on}）"
        else:
            assessment.status = Status.CANCELLED
            assessment.cancel_reason = f"老人{label}（{event.on}），评估申请自动撤销"
        assessment.save()
        audit.record(
            "life-events",
            "assessment.stop",
            assessment,
            region_code=assessment.elder.residence_region_id,
            after={"status": assessment.status},
        )
        changed += 1
    return changed


def assessments_expire_and_remind(*, today: date | None = None) -> dict[str, int]:
    """The daily job: effective results past their validity expire; results expiring within the
    reminder window get a routine re-assessment request, once (DOMAIN.md §2: reminders before expiry)."""
    today = today or timezone.localdate()
    expired = reminded = 0
    with transaction.atomic():
        for assessment in (
            Assessment.objects.select_for_update(of=("self",))
            .select_related("elder")
            .filter(status=Status.EFFECTIVE, valid_until__lt=today)
        ):
            assessment.status = Status.EXPIRED
            assessment.save(update_fields=["status", "updated_at"])
            audit.record(
                "assessment-expiry",
                "assessment.expire",
                assessment,
                region_code=assessment.elder.residence_region_id,
                after={"valid_until": assessment.valid_until},
            )
            expired += 1
    horizon = today + timedelta(days=policy.value(REMINDER, on=today))
    due = Assessment.objects.filter(
        status=Status.EFFECTIVE, valid_until__lte=horizon, reminded_at__isnull=True
    ).select_related("elder")
    for assessment in due:
        with transaction.atomic():
            locked = _locked(assessment)
            if locked.reminded_at is not None or locked.status != Status.EFFECTIVE:
                continue
            open_request = Assessment.objects.filter(elder_id=locked.elder_id, status__in=OPEN).exists()
            if not open_request and locked.elder.status in ASSESSABLE:
                assessment_request(
                    actor="assessment-expiry",
                    elder=locked.elder,
                    kind=RequestKind.ROUTINE,
                    reason=f"评估结果将于 {locked.valid_until} 到期，系统自动发起常规评估",
                    instrument=locked.instrument,
                )
                reminded += 1
            locked.reminded_at = timezone.now()
            locked.save(update_fields=["reminded_at", "updated_at"])
    return {"expired": expired, "reminded": reminded}


def may_act(actor: Any, assessment: Assessment) -> dict[str, bool]:
    """What the actor may do with this assessment now (the page shows only those buttons)."""
    in_region = covers(actor, assessment.elder.residence_region_id)
    assessor = (
        actor.has_perm(Perm.ASSESSMENTS_PERFORM)
        and assessment.organisation_id is not None
        and actor.organisation_id == assessment.organisation_id
    )
    reviewer = actor.has_perm(Perm.ASSESSMENTS_REVIEW) and in_region
    return {
        "assign": reviewer and assessment.status in (Status.REQUESTED, Status.ASSIGNED),
        "fill": assessor and assessment.status in EDITABLE,
        "attest": assessor
        and assessment.status in EDITABLE
        and actor.pk not in (assessment.assessor_1_id, assessment.assessor_2_id),
        "review": reviewer
        and assessment.status == Status.SUBMITTED
        and actor.pk not in (assessment.assessor_1_id, assessment.assessor_2_id),
        "cancel": actor.has_perm(Perm.ASSESSMENTS_REQUEST)
        and in_region
        and assessment.status in (Status.REQUESTED, Status.ASSIGNED, Status.IN_PROGRESS, Status.RETURNED),
    }
