"""Reads of the outbox: a caller's own notifications, and the counts an operations page shows."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from yanglao.notifications.enums import Status
from yanglao.notifications.models import Notification


def notifications_for(reference: str) -> QuerySet[Notification]:
    """The notifications queued under `reference` (e.g. "alarm:123"), newest first."""
    return Notification.objects.filter(reference=reference)


def outbox_summary() -> dict[str, int]:
    """How many notifications are in each status; every status is present, zero when none."""
    counts = {status.value: 0 for status in Status}
    for row in Notification.objects.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts
