"""Devices in elders' homes, the telemetry they send, alarms raised from it and what operators did about
them (DOMAIN.md §8).

Readings arrive thousands a second, so their table is lean: the message id that makes a re-delivered
message a no-op (unique), the device, the elder, the type, the time and up to three numbers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yanglao.core.models import TimeStampedModel
from yanglao.monitoring.enums import (
    AlarmStatus,
    DeviceKind,
    DeviceStatus,
    DispatchTarget,
    EventType,
    Outcome,
    Rule,
    Severity,
)


class Device(TimeStampedModel):
    kind = models.CharField(_("设备类型"), max_length=20, choices=DeviceKind.choices, db_index=True)
    vendor = models.CharField(_("厂商"), max_length=40)
    model = models.CharField(_("型号"), max_length=60, blank=True)
    serial = models.CharField(_("设备序列号"), max_length=64, unique=True)
    elder = models.ForeignKey(
        "registry.Elder",
        verbose_name=_("老年人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="devices",
    )
    household = models.ForeignKey(
        "registry.Household",
        verbose_name=_("家庭户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="devices",
    )
    # The community the device is installed in: what scopes it (and its alarms) for staff.
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("所在社区"), on_delete=models.PROTECT, related_name="+"
    )
    installed_on = models.DateField(_("安装日期"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=DeviceStatus.choices, default=DeviceStatus.ACTIVE, db_index=True
    )
    last_seen_at = models.DateTimeField(_("最近通信"), null=True, blank=True, db_index=True)
    battery = models.PositiveSmallIntegerField(_("电量（%）"), null=True, blank=True)
    # SHA-256 of the device's HTTP token (the token itself is shown once, when issued).
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    simulated = models.BooleanField(_("模拟设备"), default=False)

    class Meta:
        verbose_name = _("智能设备")
        verbose_name_plural = _("智能设备")
        ordering = ["region_id", "serial"]
        constraints = [
            models.CheckConstraint(
                condition=Q(battery__isnull=True) | Q(battery__lte=100), name="device_battery_percent"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.serial}"


class Reading(models.Model):
    """One message from a device, as received (after a vendor adapter). `message_id` is unique: the same
    message delivered twice is stored, and acted on, once."""

    id = models.BigAutoField(primary_key=True)
    message_id = models.CharField(_("消息编号"), max_length=80, unique=True)
    # No index of its own: reading_device_type_at starts with it (one B-tree less per stored message).
    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    elder_id = models.BigIntegerField(_("老年人编号"), null=True, blank=True)
    type = models.CharField(_("类型"), max_length=16, choices=EventType.choices)
    at = models.DateTimeField(_("发生时间"))
    received_at = models.DateTimeField(_("接收时间"))
    value1 = models.FloatField(null=True, blank=True)
    value2 = models.FloatField(null=True, blank=True)
    value3 = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = _("设备数据")
        verbose_name_plural = _("设备数据")
        indexes = [
            models.Index(fields=["device", "type", "at"], name="reading_device_type_at"),
            models.Index(fields=["elder_id", "at"], name="reading_elder_at"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} {self.type}"


class Alarm(models.Model):
    """One situation that needs a person: raised by a rule, answered by an operator. A situation (this
    elder's SOS, this meter's running water) has at most one open alarm; further messages about it are
    counted on that alarm instead of raising new ones."""

    id = models.BigAutoField(primary_key=True)
    rule = models.CharField(_("规则"), max_length=20, choices=Rule.choices)
    severity = models.CharField(_("级别"), max_length=12, choices=Severity.choices, db_index=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=AlarmStatus.choices, default=AlarmStatus.NEW, db_index=True
    )
    situation = models.CharField(_("情形"), max_length=80)
    elder = models.ForeignKey(
        "registry.Elder", null=True, blank=True, on_delete=models.PROTECT, related_name="alarms"
    )
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.PROTECT, related_name="alarms")
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    summary = models.CharField(_("摘要"), max_length=300)
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    first_at = models.DateTimeField(_("首次发生"))
    last_at = models.DateTimeField(_("最近发生"))
    raised_at = models.DateTimeField(_("告警时间"), db_index=True)
    message_count = models.PositiveIntegerField(_("消息数"), default=1)
    acknowledged_at = models.DateTimeField(_("响应时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dispatched_at = models.DateTimeField(_("派遣时间"), null=True, blank=True)
    dispatched_to = models.JSONField(_("派遣对象"), default=list, blank=True)
    resolved_at = models.DateTimeField(_("处置时间"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(_("处置结果"), max_length=20, choices=Outcome.choices, blank=True)
    note = models.CharField(_("处置说明"), max_length=500, blank=True)
    escalated_at = models.DateTimeField(_("升级时间"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("升级次数"), default=0)

    class Meta:
        verbose_name = _("告警")
        verbose_name_plural = _("告警")
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["situation"], condition=~Q(status="resolved"), name="one_open_alarm_per_situation"
            )
        ]
        indexes = [models.Index(fields=["region", "status"], name="alarm_region_status")]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} {self.get_status_display()}"


class AlarmAction(models.Model):
    """One step of an alarm's handling: who did what, when (the alarm's history and the audit)."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(_("操作"), max_length=16)
    target = models.CharField(_("派遣对象"), max_length=20, choices=DispatchTarget.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(_("操作人"), max_length=150, blank=True)
    at = models.DateTimeField(_("时间"))
    note = models.CharField(_("说明"), max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("告警处置记录")
        verbose_name_plural = _("告警处置记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.alarm_id} {self.action}"


class ElderThreshold(models.Model):
    """A household's own threshold for a rule (policy value key), overriding the city default for the
    elders of that home: e.g. a night-shift worker's daughter lives in, so no-motion waits longer."""

    elder = models.ForeignKey("registry.Elder", on_delete=models.CASCADE, related_name="thresholds")
    key = models.CharField(_("参数"), max_length=60)
    value = models.FloatField(_("取值"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(_("设置时间"), auto_now=True)

    class Meta:
        verbose_name = _("居家监测阈值")
        verbose_name_plural = _("居家监测阈值")
        constraints = [models.UniqueConstraint(fields=["elder", "key"], name="one_threshold_per_elder_key")]

    def __str__(self) -> str:
        return f"{self.elder_id} {self.key}={self.value}"
