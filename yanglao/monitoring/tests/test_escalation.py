"""Escalation (services.alarm_escalate_due): a critical or urgent alarm still new ACK_SECONDS after it was
raised goes to the supervisors, once, then again every ESCALATE_AGAIN_SECONDS until someone
acknowledges it; acknowledging cancels the reminders not yet sent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from yanglao.core import policy
from yanglao.core.models import AuditLog
from yanglao.monitoring import events, ingest, services
from yanglao.monitoring.models import Alarm, AlarmAction
from yanglao.monitoring.tests.conftest import message
from yanglao.notifications.models import Notification

ADMIN_PHONE = "13600000002"


@pytest.fixture
def phones(cast):
    """Everyone who might be told has a phone: only the city administrator is a supervisor."""
    for name, phone in [
        ("city_admin", ADMIN_PHONE),
        ("operator", "13600000003"),
        ("community_worker", "13600000004"),
        ("district_staff", "13600000005"),
    ]:
        user = cast.users[name]
        user.phone = phone
        user.save()
    return cast


@pytest.fixture
def alarm(devices, phones):
    result = ingest.process([message("SOS-0001", "sos")])
    return Alarm.objects.get(pk=result.raised[0])


def reminders(alarm: Alarm) -> list[tuple[str, str, str]]:
    rows = Notification.objects.filter(reference=f"monitoring.alarm:{alarm.pk}:escalation").order_by("id")
    return [(n.channel, n.recipient, n.status) for n in rows]


def test_not_before_ack_seconds_then_once_then_again_after_escalate_again(alarm):
    raised = alarm.raised_at
    assert services.alarm_escalate_due(now=raised + timedelta(seconds=59)) == 0
    assert services.alarm_escalate_due(now=raised + timedelta(seconds=60)) == 1
    alarm.refresh_from_db()
    assert (alarm.status, alarm.escalation_level, alarm.escalated_at) == (
        "new",
        1,
        raised + timedelta(seconds=60),
    )
    assert reminders(alarm) == [("sms", ADMIN_PHONE, "pending")]
    body = Notification.objects.get().body
    assert f"#{alarm.pk}" in body and "60 秒" in body and "第 1 次升级" in body
    step = AlarmAction.objects.get(alarm=alarm, action="escalate")
    assert step.data["level"] == 1 and step.actor_name == "escalation"
    assert AuditLog.objects.filter(action="alarm.escalate", object_id=str(alarm.pk)).count() == 1
    # Once: the next passes of the timer do nothing until ESCALATE_AGAIN_SECONDS (180 s) have passed.
    assert services.alarm_escalate_due(now=raised + timedelta(seconds=75)) == 0
    assert services.alarm_escalate_due(now=raised + timedelta(seconds=239)) == 0
    assert services.alarm_escalate_due(now=raised + timedelta(seconds=240)) == 1
    alarm.refresh_from_db()
    assert alarm.escalation_level == 2 and len(reminders(alarm)) == 2


def test_no_escalation_after_acknowledgement_and_pending_reminders_are_cancelled(alarm, phones):
    raised = alarm.raised_at
    services.alarm_escalate_due(now=raised + timedelta(seconds=61))
    services.alarm_acknowledge(actor=phones.operator, alarm=alarm)
    assert reminders(alarm) == [("sms", ADMIN_PHONE, "cancelled")]
    assert AlarmAction.objects.get(alarm=alarm, action="acknowledge").data["reminders_cancelled"] == 1
    assert services.alarm_escalate_due(now=raised + timedelta(hours=1)) == 0
    alarm.refresh_from_db()
    assert alarm.escalation_level == 1


def test_an_alarm_answered_in_time_is_never_escalated(alarm, phones):
    services.alarm_acknowledge(actor=phones.community_worker, alarm=alarm)
    assert services.alarm_escalate_due(now=alarm.raised_at + timedelta(minutes=10)) == 0
    assert not Notification.objects.exists()


def test_maintenance_alarms_are_not_escalated(devices, phones):
    result = ingest.process([message("SMK-0001", "heartbeat", battery=5)])
    low = Alarm.objects.get(pk=result.raised[0])
    assert low.severity == "maintenance"
    assert services.alarm_escalate_due(now=low.raised_at + timedelta(hours=2)) == 0


def test_the_ack_time_is_a_policy_value(alarm, phones):
    policy.policy_set(
        actor="tests",
        key="monitoring.ack_seconds",
        value=120,
        valid_from=alarm.raised_at.date() - timedelta(days=1),
    )
    assert services.alarm_escalate_due(now=alarm.raised_at + timedelta(seconds=119)) == 0
    assert services.alarm_escalate_due(now=alarm.raised_at + timedelta(seconds=120)) == 1


def test_escalation_is_announced(alarm, django_capture_on_commit_callbacks):
    heard = []

    def listener(sender, alarm_id, action, **kwargs):
        heard.append((alarm_id, action))

    events.alarm_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.alarm_escalate_due(now=alarm.raised_at + timedelta(seconds=60))
    finally:
        events.alarm_changed.disconnect(listener)
    assert heard == [(alarm.pk, "escalate")]


def test_supervisors_are_above_the_seats_of_the_alarms_region(alarm, phones):
    from yanglao.monitoring import notify

    assert list(notify.supervisors(alarm)) == [phones.city_admin]


def test_the_periodic_job_escalates(alarm):
    from yanglao.monitoring import tasks

    Alarm.objects.filter(pk=alarm.pk).update(raised_at=alarm.raised_at - timedelta(minutes=2))
    assert tasks.escalate_alarms.call() == 1
