"""The outbox in the admin, read-only: messages are written by the services and the worker only. The
recipient is always shown masked; operations never need the full number to see what went wrong."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from yanglao.core.admin import ReadOnlyAdmin
from yanglao.core.permissions import Perm
from yanglao.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    view_perm = Perm.JOBS_VIEW
    list_display = (
        "created_at",
        "channel",
        "masked_recipient",
        "subject",
        "reference",
        "priority",
        "status",
        "attempts",
        "next_attempt_at",
        "gateway",
        "sent_at",
    )
    list_filter = ("status", "channel", "priority", "gateway")
    search_fields = ("reference", "gateway_reference", "uid")
    date_hierarchy = "created_at"
    fields = (
        "uid",
        "channel",
        "masked_recipient",
        "subject",
        "body",
        "reference",
        "priority",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "gateway",
        "gateway_reference",
        "created_at",
        "sent_at",
    )
    readonly_fields = fields

    @admin.display(description=_("接收方"))
    def masked_recipient(self, obj: Notification) -> str:
        return obj.masked_recipient
