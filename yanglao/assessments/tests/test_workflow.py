"""The workflow: request → assign → draft → two attestations → review → effective, with its permissions."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from yanglao.assessments import selectors, services, signals
from yanglao.assessments.enums import Status
from yanglao.assessments.models import Assessment
from yanglao.assessments.tests.conftest import full_answers, submit
from yanglao.core import policy
from yanglao.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unprocessable
from yanglao.core.models import AuditLog
from yanglao.registry import selectors as registry_selectors
from yanglao.registry import services as registry_services


def test_the_whole_way_to_an_effective_level(
    cast, assigned, second_assessor, django_capture_on_commit_callbacks
):
    heard = []
    signals.level_effective.connect(
        lambda sender, assessment, previous, **kw: heard.append(assessment.pk), weak=False, dispatch_uid="t"
    )
    try:
        submitted = submit(cast, second_assessor, assigned, total=70, diagnoses=["F01"])
        assert submitted.status == Status.SUBMITTED
        assert (submitted.total, submitted.preliminary_level, submitted.final_level) == (
            70,
            "mild",
            "moderate",
        )
        with django_capture_on_commit_callbacks(execute=True):
            done = services.assessment_review(actor=cast.district_staff, assessment=submitted, approve=True)
    finally:
        signals.level_effective.disconnect(dispatch_uid="t")
    assert done.status == Status.EFFECTIVE
    today = timezone.localdate()
    assert done.valid_from == today
    assert done.valid_until == services.add_months(today, 12) - timedelta(days=1)
    assert heard == [done.pk]
    assert selectors.effective_level(done.elder_id).pk == done.pk
    actions = list(
        AuditLog.objects.filter(object_type="assessments.assessment", object_id=str(done.pk))
        .values_list("action", flat=True)
        .order_by("id")
    )
    assert actions == [
        "assessment.request",
        "assessment.assign",
        "assessment.draft",
        "assessment.attest",
        "assessment.submit",
        "assessment.approve",
    ]


def test_a_new_effective_level_supersedes_the_old_one(cast, assigned, second_assessor):
    first = services.assessment_review(
        actor=cast.district_staff, assessment=submit(cast, second_assessor, assigned), approve=True
    )
    again = services.assessment_request(
        actor=cast.community_worker, elder=first.elder, kind="immediate", reason="跌倒后卧床"
    )
    assert again.previous_id == first.pk
    services.assessment_assign(
        actor=cast.district_staff, assessment=again, organisation=cast.organisations["assessor"]
    )
    second = services.assessment_review(
        actor=cast.district_staff, assessment=submit(cast, second_assessor, again, total=20), approve=True
    )
    first.refresh_from_db()
    assert first.status == Status.SUPERSEDED
    assert selectors.effective_level(first.elder_id).final_level == "complete" == second.final_level


def test_the_validity_is_a_dated_policy_value(cast, assigned, second_assessor):
    policy.policy_set(
        actor=cast.city_admin, key="assessments.validity_months", value=6, valid_from=timezone.localdate()
    )
    done = services.assessment_review(
        actor=cast.district_staff, assessment=submit(cast, second_assessor, assigned), approve=True
    )
    assert done.valid_until == services.add_months(timezone.localdate(), 6) - timedelta(days=1)
    with pytest.raises(InvalidInput, match="不能大于"):
        policy.policy_set(
            actor=cast.city_admin,
            key="assessments.validity_months",
            value=99,
            valid_from=timezone.localdate(),
        )
    with pytest.raises(PermissionDenied):
        policy.policy_set(
            actor=cast.district_staff,
            key="assessments.validity_months",
            value=3,
            valid_from=timezone.localdate(),
        )


def test_one_open_request_per_elder(cast, elder):
    services.assessment_request(actor=cast.community_worker, elder=elder, kind="first")
    with pytest.raises(Conflict, match="进行中"):
        services.assessment_request(actor=cast.community_worker, elder=elder, kind="first")
    assert Assessment.objects.filter(elder=elder).count() == 1


def test_the_database_keeps_one_open_request_even_if_two_slip_past_the_check(cast, elder):
    services.assessment_request(actor=cast.community_worker, elder=elder, kind="first")
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.create(elder=elder, kind="first")


def test_request_rules(cast, elder):
    with pytest.raises(Conflict, match="没有生效"):
        services.assessment_request(actor=cast.community_worker, elder=elder, kind="dispute", reason="不服")
    with pytest.raises(InvalidInput, match="变化") as caught:
        services.assessment_request(actor=cast.community_worker, elder=elder, kind="immediate")
    assert caught.value.field == "reason"
    with pytest.raises(InvalidInput):
        services.assessment_request(actor=cast.community_worker, elder=elder, kind="yearly")
    with pytest.raises(Unprocessable):
        services.assessment_request(actor=cast.community_worker, elder=elder, kind="first", instrument="nope")
    registry_services.elder_record_event(
        actor=cast.community_worker, elder=elder, kind="death", on=timezone.localdate()
    )
    elder.refresh_from_db()
    with pytest.raises(Conflict, match="已故"):
        services.assessment_request(actor=cast.community_worker, elder=elder, kind="first")
    assert not Assessment.objects.exists()


def test_scope_and_roles_for_requests(cast, elder):
    with pytest.raises(NotFound):
        services.assessment_request(actor=cast.other_community_worker, elder=elder, kind="first")
    with pytest.raises(PermissionDenied):
        services.assessment_request(actor=cast.assessor, elder=elder, kind="first")
    assessment = services.assessment_request(actor=cast.community_worker, elder=elder, kind="first")
    with pytest.raises(PermissionDenied):
        services.assessment_assign(
            actor=cast.community_worker, assessment=assessment, organisation=cast.organisations["assessor"]
        )
    with pytest.raises(NotFound):
        services.assessment_assign(
            actor=cast.other_district_staff,
            assessment=assessment,
            organisation=cast.organisations["assessor"],
        )
    with pytest.raises(InvalidInput, match="不是启用中的评估机构"):
        services.assessment_assign(
            actor=cast.district_staff, assessment=assessment, organisation=cast.organisations["provider"]
        )


def test_an_assessor_sees_only_their_organisations_assignments(cast, assigned, other_assessor, make_elder):
    unassigned = services.assessment_request(
        actor=cast.community_worker, elder=make_elder(name="李四"), kind="first"
    )
    assert list(selectors.assessments_visible(cast.assessor)) == [assigned]
    assert list(selectors.assessments_visible(other_assessor)) == []
    with pytest.raises(NotFound):
        selectors.assessment_get(other_assessor, assigned.pk)
    with pytest.raises(PermissionDenied):
        services.assessment_save_draft(actor=other_assessor, assessment=assigned, answers={"1": 4})
    # the elder's record opens to the assigned organisation only
    assert list(registry_selectors.elders_visible(cast.assessor)) == [assigned.elder]
    assert list(registry_selectors.elders_visible(other_assessor)) == []
    assert unassigned.elder not in registry_selectors.elders_visible(cast.assessor)
    # the community sees both of its requests; another community none
    assert set(selectors.assessments_visible(cast.community_worker)) == {assigned, unassigned}
    assert list(selectors.assessments_visible(cast.other_community_worker)) == []
    assert list(selectors.assessments_visible(cast.provider_admin)) == []


def test_drafts_merge_and_check_each_answer(cast, assigned):
    services.assessment_save_draft(actor=cast.assessor, assessment=assigned, answers={"1": 4, "2": 3})
    services.assessment_save_draft(actor=cast.assessor, assessment=assigned, answers={"3": 2, "1": None})
    assigned.refresh_from_db()
    assert assigned.answers == {"2": 3, "3": 2}
    assert assigned.status == Status.IN_PROGRESS
    with pytest.raises(Unprocessable) as caught:
        services.assessment_save_draft(actor=cast.assessor, assessment=assigned, answers={"12": 4, "30": 1})
    assert [d["field"] for d in caught.value.details] == ["answers.12", "answers.30"]
    assigned.refresh_from_db()
    assert assigned.answers == {"2": 3, "3": 2}  # nothing half-written
    with pytest.raises(InvalidInput, match="晚于今天"):
        services.assessment_save_draft(
            actor=cast.assessor, assessment=assigned, assessed_on=timezone.localdate() + timedelta(days=1)
        )
    with pytest.raises(InvalidInput):
        services.assessment_save_draft(actor=cast.assessor, assessment=assigned, risk_events={"fall": -1})


def test_attestation_needs_complete_answers_and_two_different_assessors(cast, assigned, second_assessor):
    services.assessment_save_draft(
        actor=cast.assessor, assessment=assigned, answers={"1": 4}, assessed_on=timezone.localdate()
    )
    with pytest.raises(Unprocessable) as caught:
        services.assessment_attest(actor=cast.assessor, assessment=assigned)
    assert len(caught.value.details) == 25
    services.assessment_save_draft(actor=cast.assessor, assessment=assigned, answers=full_answers(50))
    services.assessment_attest(actor=cast.assessor, assessment=assigned)
    with pytest.raises(Conflict, match="另一名评估员"):
        services.assessment_attest(actor=cast.assessor, assessment=assigned)
    # a change after the first attestation withdraws it: both attest the same answers
    services.assessment_save_draft(actor=cast.assessor, assessment=assigned, answers={"1": 3})
    assigned.refresh_from_db()
    assert assigned.assessor_1_id is None
    services.assessment_attest(actor=second_assessor, assessment=assigned)
    done = services.assessment_attest(actor=cast.assessor, assessment=assigned)
    assert done.status == Status.SUBMITTED and done.total == 49
    with pytest.raises(Conflict):
        services.assessment_save_draft(actor=cast.assessor, assessment=assigned, answers={"1": 4})


def test_review_permissions_and_return(cast, assigned, second_assessor):
    submitted = submit(cast, second_assessor, assigned)
    with pytest.raises(PermissionDenied):
        services.assessment_review(actor=cast.community_worker, assessment=submitted, approve=True)
    with pytest.raises(PermissionDenied):
        services.assessment_review(actor=cast.assessor, assessment=submitted, approve=True)
    with pytest.raises(NotFound):
        services.assessment_review(actor=cast.other_district_staff, assessment=submitted, approve=True)
    with pytest.raises(InvalidInput, match="写明"):
        services.assessment_review(actor=cast.district_staff, assessment=submitted, approve=False)
    returned = services.assessment_review(
        actor=cast.district_staff, assessment=submitted, approve=False, note="第12项请复核"
    )
    assert returned.status == Status.RETURNED and returned.assessor_1_id is None
    again = submit(cast, second_assessor, returned, total=60)
    assert again.status == Status.SUBMITTED and again.final_level == "moderate"


def test_cancel_needs_a_reason_and_an_open_request(cast, assigned):
    with pytest.raises(InvalidInput):
        services.assessment_cancel(actor=cast.community_worker, assessment=assigned, reason=" ")
    cancelled = services.assessment_cancel(
        actor=cast.community_worker, assessment=assigned, reason="老人拒绝评估"
    )
    assert cancelled.status == Status.CANCELLED
    with pytest.raises(Conflict):
        services.assessment_cancel(actor=cast.community_worker, assessment=assigned, reason="再次")
    # a new request may follow
    services.assessment_request(actor=cast.community_worker, elder=assigned.elder, kind="first")


def test_a_death_stops_the_workflow_and_its_correction_restores_it(
    cast, assigned, django_capture_on_commit_callbacks
):
    elder = assigned.elder
    with django_capture_on_commit_callbacks(execute=True):
        death = registry_services.elder_record_event(
            actor=cast.community_worker, elder=elder, kind="death", on=timezone.localdate()
        )
    assigned.refresh_from_db()
    assert assigned.status == Status.CANCELLED and "死亡" in assigned.cancel_reason
    elder.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        registry_services.elder_record_event(
            actor=cast.community_worker,
            elder=elder,
            kind="correction",
            on=timezone.localdate(),
            reverses=death,
        )
    assigned.refresh_from_db()
    assert assigned.status == Status.ASSIGNED


def test_the_daily_job_expires_and_reminds_once(cast, assigned, second_assessor):
    done = services.assessment_review(
        actor=cast.district_staff, assessment=submit(cast, second_assessor, assigned), approve=True
    )
    near = done.valid_until - timedelta(days=10)
    assert services.assessments_expire_and_remind(today=near - timedelta(days=30)) == {
        "expired": 0,
        "reminded": 0,
    }
    assert services.assessments_expire_and_remind(today=near) == {"expired": 0, "reminded": 1}
    assert services.assessments_expire_and_remind(today=near) == {"expired": 0, "reminded": 0}
    request = Assessment.objects.get(elder=done.elder, status=Status.REQUESTED)
    assert request.kind == "routine" and request.previous_id == done.pk and "到期" in request.reason
    result = services.assessments_expire_and_remind(today=done.valid_until + timedelta(days=1))
    assert result["expired"] == 1
    done.refresh_from_db()
    assert done.status == Status.EXPIRED
    assert selectors.effective_level(done.elder_id) is None


def test_an_instrument_that_sets_no_level_is_recorded_beside_the_effective_level(
    cast, elder, second_assessor
):
    from yanglao.assessments import instruments

    barthel = instruments.get("barthel")
    request = services.assessment_request(
        actor=cast.community_worker, elder=elder, kind="first", instrument="barthel"
    )
    services.assessment_assign(
        actor=cast.district_staff, assessment=request, organisation=cast.organisations["assessor"]
    )
    services.assessment_save_draft(
        actor=cast.assessor,
        assessment=request,
        answers={k: i.max_score for k, i in barthel.items.items()},
        assessed_on=timezone.localdate(),
    )
    services.assessment_attest(actor=cast.assessor, assessment=request)
    services.assessment_attest(actor=second_assessor, assessment=request)
    done = services.assessment_review(actor=cast.district_staff, assessment=request, approve=True)
    assert (done.status, done.total, done.level_label) == (Status.RECORDED, 100, "无需依赖")
    assert selectors.effective_level(elder.pk) is None


def test_a_result_approved_late_counts_from_the_assessment_day(cast, second_assessor, assigned):
    """The result describes the elder as found on site: approved weeks later, it is in force from the
    assessment day, so benefits owed for the months between can be back-paid."""
    assessed = timezone.localdate() - timedelta(days=40)
    services.assessment_save_draft(
        actor=cast.assessor, assessment=assigned, answers=full_answers(60), assessed_on=assessed
    )
    services.assessment_attest(actor=cast.assessor, assessment=assigned)
    submitted = services.assessment_attest(actor=second_assessor, assessment=assigned)
    done = services.assessment_review(actor=cast.district_staff, assessment=submitted, approve=True)
    assert done.valid_from == assessed
    assert done.valid_until == services.add_months(assessed, 12) - timedelta(days=1)
    assert selectors.effective_levels(on=assessed).get(elder_id=done.elder_id).pk == done.pk
