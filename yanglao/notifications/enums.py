"""Enumerations of the outbox: how a message travels, how soon, and where it stands."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    SMS = "sms", _("短信")
    VOICE = "voice", _("语音电话")
    PUSH = "push", _("App 推送")
    EMAIL = "email", _("电子邮件")


# Channels whose recipient is a telephone number (normalised and checked as one).
PHONE_CHANNELS = frozenset({Channel.SMS, Channel.VOICE})


class Priority(models.TextChoices):
    NORMAL = "normal", _("普通")
    URGENT = "urgent", _("紧急")


class Status(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")
    CANCELLED = "cancelled", _("已取消")
