"""The HTTP gateway against a real server on 127.0.0.1: the request it makes, and how each kind of
answer is recorded (sent with the provider's id, retried, or failed at once)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from yanglao.notifications import services
from yanglao.notifications.enums import Status
from yanglao.notifications.gateways import GatewayError, HttpGateway
from yanglao.notifications.tests.conftest import MOBILE, Answer


def test_a_2xx_answer_marks_the_notification_sent_with_the_returned_id(enqueue, http_gateway):
    http_gateway.answer(Answer(201, {"id": "SMS-778899"}))
    notification = enqueue(subject="报警", body="请尽快联系老人。", reference="alarm:9", priority="urgent")
    assert services.outbox_deliver()["sent"] == 1
    notification.refresh_from_db()
    assert notification.status == Status.SENT
    assert (notification.gateway, notification.gateway_reference) == ("http", "SMS-778899")

    (request,) = http_gateway.requests
    assert request["path"] == "/v1/messages"
    assert request["headers"]["Authorization"] == "Bearer test-token-123"
    assert request["headers"]["Content-Type"].startswith("application/json")
    assert request["json"] == {
        "channel": "sms",
        "to": MOBILE,
        "subject": "报警",
        "body": "请尽快联系老人。",
        "reference": "alarm:9",
        "id": str(notification.uid),
    }


def test_the_id_may_come_as_message_id_and_a_2xx_without_an_id_still_counts_as_sent(enqueue, http_gateway):
    http_gateway.answer(Answer(200, {"message_id": 42}), Answer(202, b""))
    first, second = enqueue(), enqueue()
    assert services.outbox_deliver()["sent"] == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert sorted([first.gateway_reference, second.gateway_reference]) == ["", "42"]
    assert first.status == second.status == Status.SENT


def test_a_500_is_retried_with_back_off_and_fails_after_five_attempts(enqueue, http_gateway):
    http_gateway.answer(Answer(500, {"error": "upstream down"}))
    notification = enqueue()
    now = timezone.now()
    waits = []
    for _ in range(5):
        services.outbox_deliver(now=now)
        notification.refresh_from_db()
        if notification.status == Status.PENDING:
            waits.append(notification.next_attempt_at - now)
            now = notification.next_attempt_at
    assert len(http_gateway.requests) == 5
    assert waits == [timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1)]
    assert (notification.status, notification.attempts) == (Status.FAILED, 5)
    assert notification.last_error == "HTTP 500: upstream down"
    assert notification.gateway_reference == ""


def test_a_500_then_a_2xx_is_sent_on_the_second_attempt(enqueue, http_gateway):
    http_gateway.answer(Answer(503, b"maintenance"), Answer(200, {"id": "late-1"}))
    notification = enqueue()
    assert services.outbox_deliver()["retrying"] == 1
    services.outbox_deliver(now=timezone.now() + timedelta(seconds=31))
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Status.SENT, 2)
    assert notification.gateway_reference == "late-1"


def test_a_400_fails_at_once_without_retry(enqueue, http_gateway):
    http_gateway.answer(Answer(400, {"error": "invalid recipient"}))
    notification = enqueue()
    assert services.outbox_deliver()["failed"] == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Status.FAILED, 1)
    assert notification.last_error == "HTTP 400: invalid recipient"
    assert services.outbox_deliver(now=timezone.now() + timedelta(days=1))["claimed"] == 0
    assert len(http_gateway.requests) == 1


@pytest.mark.parametrize("status", [408, 429])
def test_a_gateway_asking_to_slow_down_is_retried(enqueue, http_gateway, status):
    http_gateway.answer(Answer(status, {"error": "slow down"}))
    notification = enqueue()
    assert services.outbox_deliver()["retrying"] == 1
    notification.refresh_from_db()
    assert notification.status == Status.PENDING


def test_a_timeout_is_retried(enqueue, http_gateway):
    http_gateway.answer(Answer(200, {"id": "too-late"}, delay=1.5))
    notification = enqueue()
    assert services.outbox_deliver()["retrying"] == 1
    notification.refresh_from_db()
    assert notification.status == Status.PENDING
    assert notification.attempts == 1
    assert notification.last_error == "no answer within 0.5 s"
    assert notification.next_attempt_at > timezone.now()


def test_an_unreachable_gateway_is_retried(enqueue, http_gateway, settings):
    http_gateway.httpd.shutdown()
    http_gateway.httpd.server_close()  # nothing listens on the port any more
    notification = enqueue()
    assert services.outbox_deliver()["retrying"] == 1
    notification.refresh_from_db()
    assert notification.last_error.startswith("cannot reach the gateway")


def test_a_redirect_is_not_followed_so_the_token_goes_nowhere_else(enqueue, http_gateway):
    http_gateway.answer(Answer(307, b""))
    notification = enqueue()
    assert services.outbox_deliver()["failed"] == 1
    notification.refresh_from_db()
    assert notification.last_error.startswith("HTTP 307")
    assert len(http_gateway.requests) == 1


def test_without_a_token_no_authorization_header_is_sent(enqueue, http_gateway):
    gateway = HttpGateway(http_gateway.url, token="", timeout=2)
    assert gateway.send(enqueue()) == "msg-1"
    assert "Authorization" not in http_gateway.requests[0]["headers"]


def test_the_gateway_error_says_whether_to_retry(enqueue, http_gateway):
    http_gateway.answer(Answer(404, b"no such route"))
    with pytest.raises(GatewayError) as error:
        HttpGateway(http_gateway.url, token="t", timeout=2).send(enqueue())
    assert error.value.retry is False
    assert error.value.message == "HTTP 404: no such route"
