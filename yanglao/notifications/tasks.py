"""The outbox's job: deliver what is due every ten seconds, and at once when an urgent message commits."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from yanglao.core.scheduling import periodic
from yanglao.notifications import services


@periodic("notifications.deliver_outbox", every=timedelta(seconds=10))
@task()
def deliver_outbox(urgent_only: bool = False) -> dict[str, int]:
    """Send the due notifications (urgent first); `urgent_only` for the run an urgent message triggers,
    so it does not wait behind a batch of routine ones."""
    return services.outbox_deliver(urgent_only=urgent_only)
