"""Reads for callers and for an operations page."""

from yanglao.notifications import selectors, services
from yanglao.notifications.enums import Status
from yanglao.notifications.models import Notification


def test_notifications_for_a_reference_newest_first(enqueue):
    first = enqueue(reference="alarm:1")
    second = enqueue(channel="voice", reference="alarm:1")
    enqueue(reference="alarm:2")
    assert list(selectors.notifications_for("alarm:1")) == [second, first]


def test_the_summary_counts_every_status(enqueue, recording_gateway):
    assert selectors.outbox_summary() == {s.value: 0 for s in Status}
    enqueue(reference="a")
    enqueue(reference="b")
    enqueue(reference="c")
    services.notification_cancel(reference="c")
    services.outbox_deliver(limit=1)
    Notification.objects.filter(status=Status.PENDING).update(status=Status.FAILED)
    assert selectors.outbox_summary() == {"pending": 0, "sending": 0, "sent": 1, "failed": 1, "cancelled": 1}
