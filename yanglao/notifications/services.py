"""Writes of the outbox: queue a message, deliver what is due, cancel what is no longer needed.

These services know no domain and take no `actor`: the change that causes a message is made, and
audited, by the calling app's own service, in whose transaction `notification_enqueue` runs. Sending is
not a change by a person, so it is logged (logger `yanglao.notifications`), not audited.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.utils import timezone

from yanglao.core import pii
from yanglao.core.errors import InvalidInput
from yanglao.notifications.enums import PHONE_CHANNELS, Channel, Priority, Status
from yanglao.notifications.gateways import Gateway, GatewayError, gateway_for
from yanglao.notifications.models import Notification, mask_recipient

logger = logging.getLogger("yanglao.notifications")

BODY_MAX_CHARS = 1000
SUBJECT_MAX_CHARS = 120
REFERENCE_MAX_CHARS = 120
RECIPIENT_MAX_CHARS = 500
# A failed attempt is tried again after these waits (the last one repeats); the fifth failure is final.
BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))
MAX_ATTEMPTS = 5
# A claimed message belongs to its worker this long; if the worker dies, another takes it over after.
CLAIM_LEASE = timedelta(minutes=10)
# A worker starts no new send after half the lease, so every send it starts ends (the HTTP timeout is at
# most two minutes) before the lease runs out and another worker could take the same message.
SEND_WINDOW_SECONDS = CLAIM_LEASE.total_seconds() / 2
# Queue priority of the delivery run that an urgent message triggers (django-tasks: -100 … 100), so it
# runs before routine jobs already waiting for the worker.
URGENT_TASK_PRIORITY = 50


def _check_recipient(channel: str, to: str) -> str:
    to = (to or "").strip()
    if not to:
        raise InvalidInput("请填写接收方", field="to")
    if channel in PHONE_CHANNELS:
        number = pii.parse_phone(to, field="to")
        if channel == Channel.SMS and not pii.MOBILE.match(number):
            raise InvalidInput("短信只能发送到手机号码（1开头的11位数字）", field="to")
        return number
    if len(to) > RECIPIENT_MAX_CHARS:
        raise InvalidInput(f"接收方不能超过 {RECIPIENT_MAX_CHARS} 个字符", field="to")
    if channel == Channel.EMAIL:
        try:
            validate_email(to)
        except ValidationError:
            raise InvalidInput("电子邮件地址格式不正确", field="to") from None
    return to


@transaction.atomic
def notification_enqueue(
    *,
    channel: str,
    to: str,
    body: str,
    subject: str = "",
    reference: str = "",
    priority: str = Priority.NORMAL,
) -> Notification:
    """Queue one message in the caller's transaction, so it exists only if the caller's change commits
    (DESIGN.md rule 4); an urgent one is sent as soon as that transaction commits."""
    if channel not in Channel.values:
        raise InvalidInput("未知的通知渠道：" + ", ".join(Channel.values) + " 之一", field="channel")
    recipient = _check_recipient(channel, to)
    body = (body or "").strip()
    if not body:
        raise InvalidInput("请填写通知内容", field="body")
    if len(body) > BODY_MAX_CHARS:
        raise InvalidInput(f"通知内容不能超过 {BODY_MAX_CHARS} 个字符（现为 {len(body)} 个）", field="body")
    subject = (subject or "").strip()
    if len(subject) > SUBJECT_MAX_CHARS:
        raise InvalidInput(f"标题不能超过 {SUBJECT_MAX_CHARS} 个字符", field="subject")
    reference = (reference or "").strip()
    if len(reference) > REFERENCE_MAX_CHARS:
        raise InvalidInput(f"业务关联不能超过 {REFERENCE_MAX_CHARS} 个字符", field="reference")
    if priority not in Priority.values:
        raise InvalidInput("优先级应为 normal（普通）或 urgent（紧急）", field="priority")
    notification = Notification.objects.create(
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        reference=reference,
        priority=priority,
    )
    logger.info(
        "notification %s queued: %s to %s ref=%r priority=%s",
        notification.uid,
        channel,
        notification.masked_recipient,
        reference,
        priority,
    )
    if priority == Priority.URGENT:
        # robust: the message is already committed and the periodic run will send it if this nudge
        # cannot be queued; a failure here is logged by Django and must not fail the caller's request.
        transaction.on_commit(_deliver_urgent_now, robust=True)
    return notification


def _deliver_urgent_now() -> None:
    # Imported here: tasks.py imports this module.
    from yanglao.notifications import tasks

    task = tasks.deliver_outbox
    if task.get_backend().supports_priority:
        task = task.using(priority=URGENT_TASK_PRIORITY)
    task.enqueue(urgent_only=True)


@transaction.atomic
def notification_cancel(*, reference: str) -> int:
    """Cancel the messages for `reference` not yet handed to a gateway (an alarm acknowledged before its
    reminder went out); one already being sent cannot be called back. Returns how many were cancelled."""
    reference = (reference or "").strip()
    if not reference:
        raise InvalidInput("请指明要取消哪项业务的通知", field="reference")
    cancelled = Notification.objects.filter(reference=reference, status=Status.PENDING).update(
        status=Status.CANCELLED
    )
    if cancelled:
        logger.info("notifications ref=%r: %d cancelled", reference, cancelled)
    return cancelled


def outbox_deliver(
    *, limit: int = 100, now: datetime | None = None, urgent_only: bool = False
) -> dict[str, int]:
    """Send the due messages, urgent first, each claimed by exactly one worker; a failure is tried again
    after 30 s, 2 min, 10 min and 1 h, and the fifth failure (or a refusal) is final."""
    clock: Callable[[], datetime] = (lambda: now) if now is not None else timezone.now
    started = time.monotonic()
    claimed, given_up = _claim(limit=limit, now=clock(), urgent_only=urgent_only)
    counts = {"claimed": len(claimed), "sent": 0, "retrying": 0, "failed": given_up, "released": 0}
    gateways: dict[str, Gateway] = {}
    for index, notification in enumerate(claimed):
        if time.monotonic() - started > SEND_WINDOW_SECONDS:
            counts["released"] = _release(claimed[index:])
            break
        if notification.channel not in gateways:
            gateways[notification.channel] = gateway_for(notification.channel)
        gateway = gateways[notification.channel]
        counts[_send(notification, gateway, clock)] += 1
    if counts["claimed"] or counts["failed"]:
        logger.info("outbox delivery: %s", counts)
    return counts


def _claim(*, limit: int, now: datetime, urgent_only: bool) -> tuple[list[Notification], int]:
    """Mark up to `limit` due messages as sending and return them, with how many stale claims were given
    up. Due: pending and next_attempt_at passed, or left sending by a worker whose lease ran out."""
    with transaction.atomic():
        due = Notification.objects.filter(
            status__in=[Status.PENDING, Status.SENDING], next_attempt_at__lte=now
        ).order_by(
            Case(
                When(priority=Priority.URGENT, then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
            "next_attempt_at",
            "id",
        )
        if urgent_only:
            due = due.filter(priority=Priority.URGENT)
        if connection.features.has_select_for_update_skip_locked:
            # PostgreSQL: rows another worker is claiming are skipped, not waited for or taken twice.
            due = due.select_for_update(skip_locked=True)
        # SQLite has no row locks: the IMMEDIATE transaction (config/settings.py) holds the database's
        # write lock from the first statement, so claims are serialised.
        rows = list(due[:limit])
        exhausted = [n for n in rows if n.status == Status.SENDING and n.attempts >= MAX_ATTEMPTS]
        for stale in (n for n in rows if n.status == Status.SENDING):
            logger.warning(
                "notification %s: the worker sending it stopped (attempt %d); %s",
                stale.uid,
                stale.attempts,
                "giving up" if stale in exhausted else "trying again",
            )
        if exhausted:
            Notification.objects.filter(pk__in=[n.pk for n in exhausted]).update(
                status=Status.FAILED,
                last_error=f"the worker stopped during attempt {MAX_ATTEMPTS}; not tried again",
            )
        claimed = [n for n in rows if n not in exhausted]
        lease_until = now + CLAIM_LEASE
        Notification.objects.filter(pk__in=[n.pk for n in claimed]).update(
            status=Status.SENDING, attempts=F("attempts") + 1, next_attempt_at=lease_until
        )
    for notification in claimed:
        notification.status = Status.SENDING
        notification.attempts += 1
        notification.next_attempt_at = lease_until
    return claimed, len(exhausted)


def _send(notification: Notification, gateway: Gateway, clock: Callable[[], datetime]) -> str:
    """Hand one claimed message to its gateway, outside any transaction, and record the outcome."""
    try:
        message_id = gateway.send(notification)
    except GatewayError as error:
        return _record_failure(notification, gateway.name, error.message, retry=error.retry, now=clock())
    except Exception as error:
        # A fault in the gateway code, not an answer from the provider: kept with its traceback in the
        # log and treated as an outage, so a fixed gateway still sends the message.
        logger.exception("notification %s: gateway %s raised", notification.uid, gateway.name)
        return _record_failure(
            notification, gateway.name, f"{type(error).__name__}: {error}", retry=True, now=clock()
        )
    _record(
        notification,
        status=Status.SENT,
        sent_at=clock(),
        gateway=gateway.name,
        gateway_reference=message_id,
        last_error="",
    )
    logger.info(
        "notification %s sent via %s to %s (attempt %d) id=%s",
        notification.uid,
        gateway.name,
        mask_recipient(notification.channel, notification.recipient),
        notification.attempts,
        message_id,
    )
    return "sent"


def _record_failure(
    notification: Notification, gateway: str, message: str, *, retry: bool, now: datetime
) -> str:
    error = message[:500]
    if retry and notification.attempts < MAX_ATTEMPTS:
        wait = BACKOFF[min(notification.attempts, len(BACKOFF)) - 1]
        _record(
            notification,
            status=Status.PENDING,
            next_attempt_at=now + wait,
            gateway=gateway,
            last_error=error,
        )
        logger.warning(
            "notification %s: attempt %d via %s failed (%s); next try in %s",
            notification.uid,
            notification.attempts,
            gateway,
            error,
            wait,
        )
        return "retrying"
    _record(notification, status=Status.FAILED, gateway=gateway, last_error=error)
    logger.error(
        "notification %s failed for good after %d attempt(s) via %s: %s",
        notification.uid,
        notification.attempts,
        gateway,
        error,
    )
    return "failed"


def _record(notification: Notification, **fields: object) -> None:
    # Only while the claim is still ours: the same status and attempt count. If this worker overran its
    # lease and another took the message over, that worker's outcome stands.
    updated = Notification.objects.filter(
        pk=notification.pk, status=Status.SENDING, attempts=notification.attempts
    ).update(**fields)
    if updated:
        for name, value in fields.items():
            setattr(notification, name, value)
    else:
        logger.warning(
            "notification %s: claim taken over by another worker; outcome not recorded", notification.uid
        )


def _release(notifications: list[Notification]) -> int:
    """Give back claimed messages this run had no time to send, as if never tried."""
    released = 0
    for notification in notifications:
        released += Notification.objects.filter(
            pk=notification.pk, status=Status.SENDING, attempts=notification.attempts
        ).update(status=Status.PENDING, attempts=F("attempts") - 1, next_attempt_at=timezone.now())
    return released
