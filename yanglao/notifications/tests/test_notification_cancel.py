"""notification_cancel: pending notifications of a reference are cancelled and never sent; those
already sent or of other references are left alone."""

import pytest

from yanglao.core.errors import InvalidInput
from yanglao.notifications import services
from yanglao.notifications.enums import Status
from yanglao.notifications.models import Notification


def test_cancelling_a_reference_cancels_only_its_pending_notifications(enqueue, recording_gateway):
    first = enqueue(reference="alarm:123")
    second = enqueue(channel="voice", reference="alarm:123")
    already_sent = enqueue(reference="alarm:123")
    Notification.objects.filter(pk=already_sent.pk).update(status=Status.SENT)
    other = enqueue(reference="alarm:124")

    assert services.notification_cancel(reference="alarm:123") == 2

    statuses = dict(Notification.objects.values_list("pk", "status"))
    assert statuses[first.pk] == statuses[second.pk] == Status.CANCELLED
    assert statuses[already_sent.pk] == Status.SENT
    assert statuses[other.pk] == Status.PENDING
    services.outbox_deliver()
    assert recording_gateway.sent == [other.uid]


def test_cancelling_twice_or_an_unknown_reference_cancels_nothing(enqueue):
    enqueue(reference="alarm:5")
    assert services.notification_cancel(reference="alarm:5") == 1
    assert services.notification_cancel(reference="alarm:5") == 0
    assert services.notification_cancel(reference="alarm:404") == 0


@pytest.mark.parametrize("reference", ["", "   "])
def test_an_empty_reference_is_refused_rather_than_cancelling_everything_without_one(enqueue, reference):
    notification = enqueue()
    with pytest.raises(InvalidInput) as refused:
        services.notification_cancel(reference=reference)
    assert refused.value.field == "reference"
    assert Notification.objects.get(pk=notification.pk).status == Status.PENDING
