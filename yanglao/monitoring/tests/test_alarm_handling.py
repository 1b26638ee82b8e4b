"""Handling an alarm (services.py): acknowledge → dispatch → resolve, each step locked, recorded in the
alarm's history and the audit trail, refused with the state named when the state does not allow it, and
only for a role that handles alarms in its region. Dispatching queues the notifications; the service
level is measured on a known set of alarms; a household's thresholds are checked against the policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from yanglao.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yanglao.core.models import AuditLog
from yanglao.core.testing import HOME_COMMUNITY, HOME_STREET, other_community
from yanglao.monitoring import events, ingest, selectors, services
from yanglao.monitoring.models import Alarm, AlarmAction, Device, ElderThreshold
from yanglao.monitoring.tests.conftest import message
from yanglao.notifications.models import Notification
from yanglao.registry.models import Contact

DAUGHTER = "13912345678"
NEIGHBOUR_LANDLINE = "02223456789"
WORKER_PHONE = "13700000001"
ADMIN_PHONE = "13600000002"
PROVIDER_PHONE = "13812345678"


def raise_sos(serial: str = "SOS-0001") -> Alarm:
    result = ingest.process([message(serial, "sos")])
    return Alarm.objects.get(pk=result.raised[0])


@pytest.fixture
def sos(devices, elder):
    Contact.objects.create(elder=elder, name="张丽", relation="daughter", phone=DAUGHTER, is_emergency=True)
    Contact.objects.create(elder=elder, name="李伯", relation="neighbour", phone="13900000009")
    return raise_sos()


@pytest.fixture
def far_alarm(make_elder):
    """An alarm in another district (河东区)."""
    region = other_community()
    far = make_elder(region, living_arrangement="alone")
    Device.objects.create(kind="sos_button", vendor="测试厂商", serial="SOS-FAR", elder=far, region_id=region)
    return raise_sos("SOS-FAR")


def outbox(alarm: Alarm, what: str) -> list[tuple[str, str]]:
    rows = Notification.objects.filter(reference=f"monitoring.alarm:{alarm.pk}:{what}").order_by("id")
    return [(n.channel, n.recipient) for n in rows]


def actions(alarm: Alarm) -> list[tuple[str, str]]:
    return list(AlarmAction.objects.filter(alarm=alarm).order_by("at", "id").values_list("action", "target"))


def test_acknowledge_records_who_and_when_and_announces_it(cast, sos, django_capture_on_commit_callbacks):
    heard = []

    def listener(sender, alarm_id, action, **kwargs):
        heard.append((alarm_id, action))

    events.alarm_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            done = services.alarm_acknowledge(actor=cast.operator, alarm=sos)
    finally:
        events.alarm_changed.disconnect(listener)
    assert heard == [(sos.pk, "acknowledge")]
    assert done.status == "acknowledged" and done.acknowledged_by == cast.operator
    assert done.acknowledged_at is not None
    assert actions(sos) == [("raise", ""), ("acknowledge", "")]
    row = AuditLog.objects.filter(action="alarm.acknowledge").get()
    assert row.object_id == str(sos.pk) and row.region_code == HOME_COMMUNITY
    assert row.changes == {
        "before": {"status": "new"},
        "after": {"status": "acknowledged", "answer_seconds": row.changes["after"]["answer_seconds"]},
    }


def test_acknowledging_twice_is_refused_naming_the_state(cast, sos):
    services.alarm_acknowledge(actor=cast.operator, alarm=sos)
    with pytest.raises(Conflict) as refused:
        services.alarm_acknowledge(actor=cast.community_worker, alarm=sos)
    assert "已响应" in refused.value.message and refused.value.field == "status"
    assert refused.value.code == "illegal_transition"
    assert len(actions(sos)) == 2 and AuditLog.objects.filter(action="alarm.acknowledge").count() == 1


def test_dispatch_to_family_from_new_acknowledges_and_texts_then_calls_for_critical(cast, sos):
    done = services.alarm_dispatch(actor=cast.operator, alarm=sos, targets=["family"], note="已电话联系")
    assert done.status == "dispatched" and done.dispatched_to == ["family"]
    assert done.acknowledged_by == cast.operator and done.dispatched_at is not None
    assert actions(sos) == [("raise", ""), ("acknowledge", ""), ("dispatch", "family")]
    # The emergency contact only (the neighbour is not one), an SMS and a voice call: SOS is critical.
    assert outbox(sos, "dispatch:family") == [("sms", DAUGHTER), ("voice", DAUGHTER)]
    assert Notification.objects.filter(priority="urgent").count() == 2
    row = AlarmAction.objects.get(alarm=sos, action="dispatch")
    assert row.note == "已电话联系" and row.data["sent"][0] == {"channel": "sms", "to": "139****5678"}
    assert AlarmAction.objects.get(alarm=sos, action="acknowledge").data["implicit"] is True


def test_a_landline_is_called_and_without_emergency_contacts_every_contact_is_told(cast, devices, elder):
    Contact.objects.create(elder=elder, name="王姨", relation="neighbour", phone=NEIGHBOUR_LANDLINE)
    Contact.objects.create(elder=elder, name="张丽", relation="daughter", phone=DAUGHTER)
    alarm = raise_sos()
    Alarm.objects.filter(pk=alarm.pk).update(severity="urgent")
    services.alarm_dispatch(actor=cast.operator, alarm=alarm, targets=["family"])
    assert sorted(outbox(alarm, "dispatch:family")) == [("sms", DAUGHTER), ("voice", NEIGHBOUR_LANDLINE)]


def test_dispatch_adds_targets_community_worker_provider_and_120(cast, sos):
    cast.community_worker.phone = WORKER_PHONE
    cast.community_worker.save()
    cast.other_community_worker.phone = "13700000009"
    cast.other_community_worker.save()
    from yanglao.providers import services as provider_services

    provider = provider_services.provider_attach(
        actor="tests",
        organisation=cast.organisations["provider"],
        legal_form="social_org",
        legal_representative="周静",
        contact_phone=PROVIDER_PHONE,
        service_areas=[HOME_STREET],
        daily_capacity=10,
    )
    services.alarm_acknowledge(actor=cast.operator, alarm=sos)
    services.alarm_dispatch(actor=cast.operator, alarm=sos, targets=["community_worker"])
    done = services.alarm_dispatch(
        actor=cast.community_worker, alarm=sos, targets=["provider", "ambulance", "community_worker"]
    )
    assert done.dispatched_to == ["community_worker", "provider", "ambulance"]
    assert outbox(sos, "dispatch:community_worker") == [("sms", WORKER_PHONE), ("sms", WORKER_PHONE)]
    assert outbox(sos, "dispatch:provider") == [("sms", PROVIDER_PHONE)]
    assert AlarmAction.objects.get(alarm=sos, target="provider").data["provider"] == provider.pk
    ambulance = AlarmAction.objects.get(alarm=sos, target="ambulance")
    assert ambulance.data["called_at"] and not outbox(sos, "dispatch:ambulance")
    assert AuditLog.objects.filter(action="alarm.dispatch", object_id=str(sos.pk)).count() == 4


@pytest.mark.parametrize("targets", [[], ["police"], ["family", "nobody"]])
def test_a_bad_dispatch_target_is_refused_and_nothing_is_written(cast, sos, targets):
    with pytest.raises(InvalidInput) as refused:
        services.alarm_dispatch(actor=cast.operator, alarm=sos, targets=targets)
    assert refused.value.field == "targets"
    sos.refresh_from_db()
    assert sos.status == "new" and len(actions(sos)) == 1 and not Notification.objects.exists()


def test_resolve_with_an_outcome_closes_the_alarm(cast, sos):
    services.alarm_dispatch(actor=cast.operator, alarm=sos, targets=["ambulance"])
    done = services.alarm_resolve(actor=cast.operator, alarm=sos, outcome="sent_to_hospital", note="送市一院")
    assert (done.status, done.outcome, done.note, done.resolved_by) == (
        "resolved",
        "sent_to_hospital",
        "送市一院",
        cast.operator,
    )
    assert actions(sos)[-1] == ("resolve", "")
    with pytest.raises(Conflict) as again:
        services.alarm_resolve(actor=cast.operator, alarm=sos, outcome="other", note="再次")
    assert "已处置" in again.value.message
    with pytest.raises(Conflict):
        services.alarm_dispatch(actor=cast.operator, alarm=sos, targets=["family"])
    with pytest.raises(Conflict):
        services.alarm_acknowledge(actor=cast.operator, alarm=sos)
    # The situation is free again: the next SOS raises a new alarm.
    assert raise_sos().pk != sos.pk


def test_resolving_a_new_alarm_acknowledges_it_at_that_moment(cast, sos):
    done = services.alarm_resolve(actor=cast.operator, alarm=sos, outcome="false_alarm", note="老人误按")
    assert done.acknowledged_at == done.resolved_at
    assert actions(sos) == [("raise", ""), ("acknowledge", ""), ("resolve", "")]


@pytest.mark.parametrize(
    ("outcome", "note", "field"),
    [
        ("", "", "outcome"),
        ("lost", "说明", "outcome"),
        ("false_alarm", "", "note"),
        ("other", "   ", "note"),
        ("handled_at_home", "长" * 501, "note"),
    ],
)
def test_outcome_and_note_are_checked_and_nothing_is_written(cast, sos, outcome, note, field):
    with pytest.raises(InvalidInput) as refused:
        services.alarm_resolve(actor=cast.operator, alarm=sos, outcome=outcome, note=note)
    assert refused.value.field == field
    sos.refresh_from_db()
    assert sos.status == "new" and sos.outcome == "" and len(actions(sos)) == 1
    assert (
        not AuditLog.objects.filter(action__startswith="alarm.", object_id=str(sos.pk))
        .exclude(action="alarm.raise")
        .exists()
    )


def test_a_role_without_alarms_handle_is_refused(cast, sos):
    for user in (cast.care_worker, cast.district_staff, cast.provider_admin, cast.auditor):
        with pytest.raises(PermissionDenied):
            services.alarm_acknowledge(actor=user, alarm=sos)
    sos.refresh_from_db()
    assert sos.status == "new"


def test_an_alarm_in_another_region_is_not_found(cast, sos, far_alarm):
    with pytest.raises(NotFound):
        services.alarm_acknowledge(actor=cast.other_community_worker, alarm=sos)
    with pytest.raises(NotFound):
        services.alarm_resolve(actor=cast.community_worker, alarm=far_alarm, outcome="other", note="x")
    # The city's operator covers both.
    services.alarm_acknowledge(actor=cast.operator, alarm=far_alarm)


# --- who sees alarms -------------------------------------------------------------------------------
def test_alarms_are_seen_within_the_region_and_not_by_organisation_roles(cast, sos, far_alarm):
    def seen(user):
        return set(selectors.alarms_visible(user).values_list("pk", flat=True))

    assert seen(cast.operator) == seen(cast.city_admin) == {sos.pk, far_alarm.pk}
    assert seen(cast.community_worker) == seen(cast.district_staff) == {sos.pk}
    assert seen(cast.other_community_worker) == {far_alarm.pk}
    assert seen(cast.provider_admin) == seen(cast.care_worker) == seen(cast.elder) == set()
    with pytest.raises(PermissionDenied):
        selectors.alarm_list(cast.care_worker)
    with pytest.raises(NotFound):
        selectors.alarm_get(cast.community_worker, far_alarm.pk)


def test_the_list_puts_critical_first_then_the_longest_waiting(cast, devices):
    bp = ingest.process([message("BP-0001", "blood_pressure", data={"systolic": 190, "diastolic": 100})])
    sos = raise_sos()
    smoke = ingest.process([message("SMK-0001", "smoke")])
    order = list(selectors.alarm_list(cast.operator).values_list("pk", flat=True))
    assert order == [sos.pk, smoke.raised[0], bp.raised[0]]
    assert (
        list(selectors.alarm_list(cast.operator, severity="urgent").values_list("pk", flat=True)) == bp.raised
    )
    with pytest.raises(InvalidInput) as bad:
        selectors.alarm_list(cast.operator, status="lost")
    assert bad.value.field == "status"


# --- service level ---------------------------------------------------------------------------------
def make_alarms(region: str, answers: list[float | None], *, since, severity="critical") -> list[Alarm]:
    """One alarm per answer time in seconds (None: not acknowledged), raised a minute apart."""
    rows = []
    for index, answer in enumerate(answers):
        raised = since + timedelta(minutes=index)
        rows.append(
            Alarm(
                rule="sos",
                severity=severity,
                status="acknowledged" if answer is not None else "new",
                situation=f"sos:test{index}:{severity}",
                region_id=region,
                summary="一键呼叫",
                first_at=raised,
                last_at=raised,
                raised_at=raised,
                acknowledged_at=raised + timedelta(seconds=answer) if answer is not None else None,
            )
        )
    return Alarm.objects.bulk_create(rows)


def test_service_level_of_forty_alarms_with_one_late_meets_the_tec_targets(cast):
    since = timezone.now() - timedelta(hours=2)
    make_alarms(HOME_COMMUNITY, [10.0] * 20 + [30.0] * 19 + [90.0], since=since)
    make_alarms(HOME_COMMUNITY, [500.0] * 3, since=since, severity="maintenance")  # not measured
    level = selectors.service_level(cast.operator, since=since)
    assert (level["count"], level["acknowledged"], level["unacknowledged"]) == (40, 40, 0)
    sixty, one_eighty = level["levels"]
    assert (sixty["within"], sixty["measured"], sixty["missed"]) == (39, 40, 1)
    assert str(sixty["share_percent"]) == "97.50" and sixty["target_percent"] == 97.5 and sixty["met"] is True
    assert (one_eighty["within"], one_eighty["share_percent"], one_eighty["met"]) == (40, 100, True)
    assert level["median_answer_seconds"] == 20.0 and level["met"] is True  # (10 + 30) / 2


def test_unanswered_alarms_count_as_misses_once_older_than_the_limit(cast):
    now = timezone.now()
    since = now - timedelta(hours=1)
    make_alarms(HOME_COMMUNITY, [20.0] * 38 + [100.0, None], since=since)  # the last raised 21 min ago
    level = selectors.service_level(cast.operator, since=since, now=now)
    sixty, one_eighty = level["levels"]
    assert (sixty["within"], sixty["measured"], sixty["met"]) == (38, 40, False)
    assert str(sixty["share_percent"]) == "95.00"
    assert (one_eighty["within"], one_eighty["measured"], one_eighty["met"]) == (39, 40, False)
    assert level["met"] is False and level["median_answer_seconds"] == 20.0
    # A call still ringing for less than the limit is not yet a miss.
    make_alarms(HOME_COMMUNITY, [None], since=now - timedelta(seconds=30), severity="urgent")
    again = selectors.service_level(cast.operator, since=since, now=now)
    assert again["count"] == 41 and again["levels"][0]["measured"] == 40


def test_service_level_is_scoped(cast, make_elder):
    since = timezone.now() - timedelta(hours=1)
    make_alarms(HOME_COMMUNITY, [10.0, 20.0], since=since)
    make_alarms(other_community(), [300.0], since=since, severity="urgent")
    assert selectors.service_level(cast.community_worker, since=since)["count"] == 2
    assert selectors.service_level(cast.operator, since=since)["count"] == 3
    assert selectors.service_level(cast.operator, since=since, region="120102")["count"] == 1
    with pytest.raises(InvalidInput):
        selectors.service_level(cast.operator, since=since, until=since - timedelta(hours=1))


# --- the elder's card ------------------------------------------------------------------------------
def test_the_elder_card_masks_phones_unless_asked_by_a_role_with_pii_view(cast, sos, elder):
    card = selectors.elder_card(cast.operator, elder)
    assert card["conditions"]["living_arrangement"] == {"code": "alone", "label": "独居"}
    assert card["position"] == {"latitude": 39.118, "longitude": 117.2}
    assert [c["phone"] for c in card["contacts"]] == ["139****5678", "139****0009"]
    assert card["contacts"][0]["is_emergency"] is True
    assert [a["id"] for a in card["alarms"]] == [sos.pk] and card["readings"][0]["type"] == "sos"
    assert {d["serial"] for d in card["devices"]} >= {"SOS-0001", "PIR-0001"}
    clear = selectors.elder_card(cast.operator, elder, unmasked=True)
    assert clear["contacts"][0]["phone"] == DAUGHTER
    assert AuditLog.objects.filter(action="elder.view_personal_numbers", object_id=str(elder.pk)).count() == 1
    with pytest.raises(PermissionDenied):
        selectors.elder_card(cast.district_staff, elder, unmasked=True)
    with pytest.raises(NotFound):
        selectors.elder_card(cast.other_community_worker, elder)


# --- a household's own thresholds ------------------------------------------------------------------
def test_a_household_threshold_is_set_within_the_policy_bounds_and_audited(cast, elder):
    row = services.threshold_set(
        actor=cast.community_worker, elder=elder, key="monitoring.no_motion_hours", value=8, note="女儿夜班"
    )
    assert (row.key, row.value, row.set_by) == ("monitoring.no_motion_hours", 8.0, cast.community_worker)
    services.threshold_set(actor=cast.operator, elder=elder, key="no_motion_hours", value=10.0)
    assert ElderThreshold.objects.get(elder=elder).value == 10.0
    audit = AuditLog.objects.filter(action="monitoring.threshold_set").order_by("id")
    assert [r.changes["before"]["value"] for r in audit] == [None, 8.0]
    assert services.threshold_clear(actor=cast.city_admin, elder=elder, key="monitoring.no_motion_hours")
    assert not ElderThreshold.objects.exists()


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("monitoring.day_starts_hour", 8, "key"),  # a city value, not a household's
        ("monitoring.ack_seconds", 30, "key"),
        ("monitoring.no_motion_hours", 0, "value"),
        ("monitoring.no_motion_hours", 25, "value"),
        ("monitoring.no_motion_hours", 6.5, "value"),  # whole hours
        ("monitoring.electricity_deviation", 0.5, "value"),
    ],
)
def test_a_threshold_outside_the_policy_is_refused(cast, elder, key, value, field):
    with pytest.raises(InvalidInput) as refused:
        services.threshold_set(actor=cast.community_worker, elder=elder, key=key, value=value)
    assert refused.value.field == field and not ElderThreshold.objects.exists()


def test_thresholds_are_set_only_in_scope_by_roles_that_handle_alarms(cast, elder):
    with pytest.raises(PermissionDenied):
        services.threshold_set(actor=cast.care_worker, elder=elder, key="monitoring.no_water_hours", value=30)
    with pytest.raises(NotFound):
        services.threshold_set(
            actor=cast.other_community_worker, elder=elder, key="monitoring.no_water_hours", value=30
        )
    assert not ElderThreshold.objects.exists()
