"""Two workers delivering at the same moment never send one notification twice (PostgreSQL row locks)."""

import pytest
from django.db import connection

from yanglao.core.testing import race
from yanglao.notifications import services
from yanglao.notifications.enums import Status
from yanglao.notifications.models import Notification


@pytest.fixture
def postgres(transactional_db):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers with a file lock; the row locks under test are PostgreSQL's")


def drain():
    """One worker: small batches until nothing is left, as the periodic job would run them."""
    sent = 0
    while True:
        counts = services.outbox_deliver(limit=3)
        if not counts["claimed"]:
            return sent
        sent += counts["sent"]


@pytest.mark.parametrize("workers", [2, 4])
def test_concurrent_deliveries_send_each_notification_exactly_once(
    postgres, enqueue, recording_gateway, workers
):
    recording_gateway.pause = 0.002  # a send takes a moment, so the workers' claims overlap
    queued = [enqueue(reference=f"race:{i}") for i in range(30)]
    # Some urgent too, made so after the fact: enqueued urgent, each would be sent on its commit.
    Notification.objects.filter(pk__in=[n.pk for n in queued[::3]]).update(priority="urgent")

    outcomes = race(drain, times=workers)

    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert sum(outcomes) == len(queued)
    assert sorted(map(str, recording_gateway.sent)) == sorted(str(n.uid) for n in queued)
    assert len(set(recording_gateway.sent)) == len(recording_gateway.sent)
    assert Notification.objects.filter(status=Status.SENT, attempts=1).count() == len(queued)
