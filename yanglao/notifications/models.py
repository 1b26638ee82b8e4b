from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yanglao.core import pii
from yanglao.core.fields import EncryptedTextField, LookupHashField
from yanglao.notifications.enums import PHONE_CHANNELS, Channel, Priority, Status


def mask_recipient(channel: str, value: str | None) -> str:
    """A recipient as screens and logs show it: phone numbers as 138****5678, e-mail as z***@example.org,
    push tokens by their first four characters."""
    if not value:
        return ""
    if channel in PHONE_CHANNELS:
        return pii.mask_phone(value)
    if channel == Channel.EMAIL and "@" in value:
        local, _at, domain = value.rpartition("@")
        return local[:1] + pii.MASK * 3 + "@" + domain
    return value[:4] + pii.MASK * 4


class Notification(models.Model):
    """One message to one recipient, kept until it is sent, given up on or cancelled (the outbox)."""

    # Sent to the gateway as the message's id: a provider can drop a repeat of a message it already
    # took (a worker that died between sending and recording sends it again), and unlike the primary
    # key it never repeats across installs or after a database is rebuilt.
    uid = models.UUIDField(_("消息编号"), default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    # A phone number or an address identifies a person: stored encrypted, found by its keyed hash.
    recipient = EncryptedTextField(_("接收方"))
    recipient_hash = LookupHashField(source="recipient")
    subject = models.CharField(_("标题"), max_length=120, blank=True)
    body = models.TextField(_("内容"))
    reference = models.CharField(_("业务关联"), max_length=120, blank=True, db_index=True)
    priority = models.CharField(_("优先级"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    # When a pending message is due; while it is being sent, when its claim runs out (services.py).
    # Indexed together with status (Meta.indexes), the order the worker's claim reads it in.
    next_attempt_at = models.DateTimeField(_("下次尝试时间"), default=timezone.now)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)
    gateway = models.CharField(_("发送网关"), max_length=20, blank=True)
    gateway_reference = models.CharField(_("网关消息编号"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The worker's claim: due rows of one status, in time order.
            models.Index(fields=["status", "next_attempt_at"], name="notification_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.masked_recipient}（{self.get_status_display()}）"

    @property
    def masked_recipient(self) -> str:
        return mask_recipient(self.channel, self.recipient)
