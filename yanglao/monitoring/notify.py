"""Who is told about an alarm, and how: the one place monitoring queues notifications (the outbox of the
`notifications` app sends them through its gateways after the commit). Called inside the alarm
services' transactions, so a message exists only if the step that caused it commits.

Recipients (DOMAIN.md §8, kept simple on purpose):

- family: the elder's emergency contacts (registry: Contact.is_emergency), or all of the elder's
  contacts when none is marked; an SMS to each mobile number, and for a critical alarm a voice call as
  well; a landline gets the voice call only (SMS needs a mobile);
- community worker: the active community workers of the alarm's community (their user account's phone),
  by SMS;
- provider: one service provider, the best-rated active one whose service area covers the alarm's
  community (the same order the orders app dispatches in), on its contact phone, by SMS;
- ambulance (120): nobody is messaged; the operator phones 120 and the time is recorded;
- escalation: the supervisors (see `supervisors`), by SMS.

A recipient whose number cannot take the message (a malformed or landline number for SMS) is skipped
with a warning in the log and counted in the step's record; the others are still told. Numbers are
kept masked in what is returned (it goes into the alarm's history and the audit trail)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from yanglao.accounts.models import User
from yanglao.accounts.roles import ROLE_PERMISSIONS, Role
from yanglao.core import pii
from yanglao.core.errors import InvalidInput
from yanglao.core.permissions import Perm
from yanglao.monitoring.enums import DispatchTarget, Rule, Severity
from yanglao.monitoring.models import Alarm
from yanglao.notifications.services import notification_cancel, notification_enqueue
from yanglao.providers.enums import ProviderStatus
from yanglao.providers.models import Provider
from yanglao.regions import codes
from yanglao.registry.models import Contact

log = logging.getLogger("yanglao.monitoring.notify")

# Roles that answer alarms at a seat (their supervisors are told when they do not): not supervisors.
SEAT_ROLES = frozenset({Role.OPERATOR, Role.COMMUNITY_WORKER})
# A supervisor's region is a district or above (division codes of 2, 4 or 6 digits).
SUPERVISOR_CODE_LENGTHS = (2, 4, 6)


def reference(alarm: Alarm, what: str) -> str:
    return f"monitoring.alarm:{alarm.pk}:{what}"


def _priority(alarm: Alarm) -> str:
    return "urgent" if alarm.severity in (Severity.CRITICAL, Severity.URGENT) else "normal"


def _when(alarm: Alarm) -> str:
    return timezone.localtime(alarm.raised_at).strftime("%m-%d %H:%M")


def _who(alarm: Alarm) -> str:
    elder = alarm.elder
    if elder is None:
        return alarm.device.serial if alarm.device_id and alarm.device else "设备"
    return elder.name


def _where(alarm: Alarm) -> str:
    elder = alarm.elder
    if elder is not None and elder.address:
        return elder.address
    if alarm.device_id and alarm.device and alarm.device.household_id and alarm.device.household:
        return alarm.device.household.address
    return ""


def _send(
    sent: dict[str, Any], *, channel: str, to: str, body: str, ref: str, priority: str, subject: str = ""
) -> None:
    """Queue one message; a number the channel cannot take is skipped and counted, not fatal."""
    try:
        notification_enqueue(
            channel=channel, to=to, body=body, subject=subject, reference=ref, priority=priority
        )
    except InvalidInput as error:
        log.warning("alarm notification skipped (%s to %s): %s", channel, pii.mask_phone(to), error.message)
        sent["skipped"] += 1
        return
    sent["sent"].append({"channel": channel, "to": pii.mask_phone(pii.normalize_phone(to))})


def _phone_message(
    sent: dict[str, Any], phone: str, *, body: str, ref: str, priority: str, voice: bool
) -> None:
    """SMS to a mobile (and a voice call too when `voice`); a landline can only be called."""
    number = pii.normalize_phone(phone)
    if pii.MOBILE.match(number):
        _send(sent, channel="sms", to=number, body=body, ref=ref, priority=priority)
        if voice:
            _send(sent, channel="voice", to=number, body=body, ref=ref, priority=priority)
    else:
        _send(sent, channel="voice", to=number, body=body, ref=ref, priority=priority)


def family_contacts(alarm: Alarm) -> list[Contact]:
    if alarm.elder_id is None:
        return []
    contacts = list(Contact.objects.filter(elder_id=alarm.elder_id).order_by("-is_emergency", "id"))
    emergency = [c for c in contacts if c.is_emergency]
    return emergency or contacts


def community_workers(alarm: Alarm) -> QuerySet[User]:
    return User.objects.filter(
        role=Role.COMMUNITY_WORKER, region_id=alarm.region_id, is_active=True
    ).order_by("id")


def provider_for(alarm: Alarm) -> Any:
    """The best-rated active provider whose service area covers the alarm's community (or None)."""
    prefixes = [alarm.region_id[:n] for n in codes.NATURAL_LENGTHS if n <= len(alarm.region_id)]
    covers = Provider.service_areas.through.objects.filter(provider_id=OuterRef("pk"), region_id__in=prefixes)
    return (
        Provider.objects.filter(Exists(covers), status=ProviderStatus.ACTIVE, organisation__is_active=True)
        .select_related("organisation")
        .order_by(Coalesce("rating", Decimal("-1")).desc(), "organisation__name", "id")
        .first()
    )


def supervisors(alarm: Alarm) -> QuerySet[User]:
    """Who is told when an alarm waits too long: active users whose role may handle alarms, who are not
    themselves a seat that answers alarms (operators, community workers), and whose region is a
    district or above that contains the alarm's community. With the shipped roles: the city (and a
    province's) administrators; a deployment that gives district staff alarms.handle adds them."""
    roles = [
        r for r, perms in ROLE_PERMISSIONS.items() if Perm.ALARMS_HANDLE in perms and r not in SEAT_ROLES
    ]
    regions = [alarm.region_id[:n] for n in SUPERVISOR_CODE_LENGTHS if n <= len(alarm.region_id)]
    return User.objects.filter(
        Q(role__in=roles), region_id__in=regions, is_active=True, is_superuser=False
    ).order_by("id")


def dispatch(alarm: Alarm, target: str) -> dict[str, Any]:
    """Tell the target about the alarm; returns what was queued (masked numbers) for the history."""
    sent: dict[str, Any] = {"sent": [], "skipped": 0}
    label = str(Rule(alarm.rule).label)
    where = _where(alarm)
    priority = _priority(alarm)
    ref = reference(alarm, f"dispatch:{target}")
    if target == DispatchTarget.FAMILY:
        body = (
            f"【居家养老】您的家人{_who(alarm)}于{_when(alarm)}触发“{label}”告警：{alarm.summary}。"
            "平台正在处置，请尽快联系老人或前往查看。"
        )
        contacts = family_contacts(alarm)
        for contact in contacts:
            _phone_message(
                sent,
                contact.phone,
                body=body,
                ref=ref,
                priority=priority,
                voice=alarm.severity == Severity.CRITICAL,
            )
        sent["recipients"] = len(contacts)
    elif target == DispatchTarget.COMMUNITY_WORKER:
        body = (
            f"【居家养老】告警 #{alarm.pk}：{_who(alarm)}{('（' + where + '）') if where else ''}"
            f"{_when(alarm)} {alarm.summary}，请尽快上门查看并回复呼叫中心。"
        )
        workers = [u for u in community_workers(alarm) if u.phone]
        for user in workers:
            _send(sent, channel="sms", to=user.phone, body=body, ref=ref, priority=priority)
        sent["recipients"] = len(workers)
    elif target == DispatchTarget.PROVIDER:
        provider = provider_for(alarm)
        body = (
            f"【居家养老】告警 #{alarm.pk}：{_who(alarm)}{('（' + where + '）') if where else ''}"
            f"{_when(alarm)} {alarm.summary}，请派服务人员尽快上门。"
        )
        if provider is not None and provider.contact_phone:
            _phone_message(sent, provider.contact_phone, body=body, ref=ref, priority=priority, voice=False)
            sent["provider"] = provider.pk
        sent["recipients"] = int(provider is not None and bool(provider.contact_phone))
    return sent


def escalate(alarm: Alarm, level: int, waited_seconds: int) -> dict[str, Any]:
    """Tell the supervisors that the alarm is still not acknowledged."""
    sent: dict[str, Any] = {"sent": [], "skipped": 0}
    where = _where(alarm)
    body = (
        f"【居家养老】告警 #{alarm.pk}（{Severity(alarm.severity).label}）已 {waited_seconds} 秒无人响应"
        f"（第 {level} 次升级）：{_who(alarm)}{('，' + where) if where else ''}，{alarm.summary}。请督促处置。"
    )
    people = [u for u in supervisors(alarm) if u.phone]
    for user in people:
        _send(
            sent,
            channel="sms",
            to=user.phone,
            body=body,
            ref=reference(alarm, "escalation"),
            priority="urgent",
        )
    sent["recipients"] = len(people)
    return sent


def cancel_escalation(alarm: Alarm) -> int:
    """Reminders to supervisors not yet sent are no longer needed once someone has answered."""
    return notification_cancel(reference=reference(alarm, "escalation"))
