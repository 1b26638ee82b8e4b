"""outbox_deliver: sends what is due, urgent first, records the outcome, backs off after a failure,
and takes over messages a dead worker left half-sent."""

from datetime import timedelta

import pytest
from django.utils import timezone

from yanglao.notifications import services
from yanglao.notifications.enums import Status
from yanglao.notifications.gateways import GatewayError
from yanglao.notifications.models import Notification


def test_the_log_gateway_marks_a_notification_sent_with_a_generated_id(enqueue, caplog):
    notification = enqueue(reference="visit:1")
    with caplog.at_level("INFO", logger="yanglao.notifications"):
        counts = services.outbox_deliver()
    assert counts == {"claimed": 1, "sent": 1, "retrying": 0, "failed": 0, "released": 0}
    notification.refresh_from_db()
    assert notification.status == Status.SENT
    assert notification.attempts == 1
    assert notification.gateway == "log"
    assert notification.gateway_reference.startswith("log-")
    assert notification.sent_at is not None
    assert notification.last_error == ""
    lines = [r.getMessage() for r in caplog.records if notification.gateway_reference in r.getMessage()]
    assert lines, "the log gateway writes one line naming the message id"
    # The log names the recipient masked, never in full.
    assert all("13812345678" not in r.getMessage() for r in caplog.records)
    assert "138****5678" in lines[0]


def test_nothing_due_sends_nothing(enqueue, recording_gateway):
    enqueue()
    Notification.objects.update(next_attempt_at=timezone.now() + timedelta(minutes=1))
    assert services.outbox_deliver()["claimed"] == 0
    assert recording_gateway.sent == []


def test_urgent_notifications_are_sent_before_normal_ones(enqueue, recording_gateway):
    older_normal = enqueue(reference="n1")
    newer_normal = enqueue(reference="n2")
    urgent = enqueue(priority="urgent", reference="u1")
    later_urgent = enqueue(channel="voice", priority="urgent", reference="u2")

    assert services.outbox_deliver(limit=1)["sent"] == 1
    assert recording_gateway.sent == [urgent.uid]
    services.outbox_deliver()
    assert recording_gateway.sent == [urgent.uid, later_urgent.uid, older_normal.uid, newer_normal.uid]


def test_an_urgent_only_run_leaves_normal_notifications_for_the_periodic_run(enqueue, recording_gateway):
    normal = enqueue()
    urgent = enqueue(priority="urgent")
    assert services.outbox_deliver(urgent_only=True)["sent"] == 1
    assert recording_gateway.sent == [urgent.uid]
    assert Notification.objects.get(pk=normal.pk).status == Status.PENDING


def test_a_retryable_failure_backs_off_30s_2min_10min_1h_then_fails_after_five_attempts(
    enqueue, recording_gateway
):
    recording_gateway.fail_with = GatewayError("provider busy", retry=True)
    notification = enqueue()
    now = timezone.now()
    waits = []
    for attempt in range(1, 6):
        # Not a moment before it is due.
        assert (
            services.outbox_deliver(now=notification.next_attempt_at - timedelta(seconds=1))["claimed"] == 0
        )
        counts = services.outbox_deliver(now=now)
        notification.refresh_from_db()
        assert notification.attempts == attempt
        assert notification.last_error == "provider busy"
        if attempt < 5:
            assert counts["retrying"] == 1
            assert notification.status == Status.PENDING
            waits.append(notification.next_attempt_at - now)
            now = notification.next_attempt_at
    assert counts["failed"] == 1
    assert notification.status == Status.FAILED
    assert waits == [timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1)]
    assert services.outbox_deliver(now=now + timedelta(days=1))["claimed"] == 0


def test_a_refusal_fails_at_once(enqueue, recording_gateway):
    recording_gateway.fail_with = GatewayError("unknown number", retry=False)
    notification = enqueue()
    assert services.outbox_deliver()["failed"] == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Status.FAILED, 1)
    assert notification.last_error == "unknown number"
    assert notification.gateway == "recording"


def test_a_fault_in_the_gateway_code_is_logged_and_retried_like_an_outage(enqueue, recording_gateway, caplog):
    recording_gateway.fail_with = KeyError("config")
    notification = enqueue()
    assert services.outbox_deliver()["retrying"] == 1
    notification.refresh_from_db()
    assert notification.status == Status.PENDING
    assert notification.last_error.startswith("KeyError")
    assert any(r.exc_info for r in caplog.records if r.name == "yanglao.notifications")


def test_a_message_left_sending_by_a_dead_worker_is_taken_over_after_its_lease(enqueue, recording_gateway):
    notification = enqueue()
    claimed_at = timezone.now()
    Notification.objects.update(
        status=Status.SENDING, attempts=1, next_attempt_at=claimed_at + services.CLAIM_LEASE
    )
    # Still within the dead worker's lease: left alone.
    assert services.outbox_deliver(now=claimed_at + timedelta(minutes=5))["claimed"] == 0
    assert services.outbox_deliver(now=claimed_at + services.CLAIM_LEASE)["sent"] == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Status.SENT, 2)
    assert recording_gateway.sent == [notification.uid]


def test_a_message_whose_fifth_attempt_died_with_its_worker_is_given_up(enqueue, recording_gateway):
    notification = enqueue()
    Notification.objects.update(status=Status.SENDING, attempts=5, next_attempt_at=timezone.now())
    assert services.outbox_deliver()["failed"] == 1
    notification.refresh_from_db()
    assert notification.status == Status.FAILED
    assert recording_gateway.sent == []


def test_a_run_out_of_time_gives_back_what_it_has_not_sent(enqueue, recording_gateway, monkeypatch):
    monkeypatch.setattr(services, "SEND_WINDOW_SECONDS", -1)
    notification = enqueue()
    assert services.outbox_deliver()["released"] == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Status.PENDING, 0)
    assert recording_gateway.sent == []


@pytest.mark.parametrize("limit", [1, 2])
def test_a_run_sends_at_most_its_limit(enqueue, recording_gateway, limit):
    for _ in range(3):
        enqueue()
    assert services.outbox_deliver(limit=limit)["sent"] == limit
    assert Notification.objects.filter(status=Status.PENDING).count() == 3 - limit
