from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    """Base for every domain model: when a row was made and last changed."""

    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


class AuditLog(models.Model):
    """One row per change made by a service, written in the service's own transaction (core/audit.py)."""

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept as text too, so the trail still reads right after a user is renamed or removed.
    actor_name = models.CharField(_("操作人名称"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=80, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=80, blank=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    region_code = models.CharField(_("所属区域代码"), max_length=12, blank=True, db_index=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return (
            f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.object_type}#{self.object_id}"
        )


class JobProgress(models.Model):
    """Progress of long work (a task or a command) for progress bars: percent and a message."""

    class State(models.TextChoices):
        RUNNING = "running", _("进行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    job_id = models.CharField(_("任务编号"), max_length=64, unique=True)
    name = models.CharField(_("任务名称"), max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.RUNNING)
    percent = models.PositiveSmallIntegerField(_("进度"), default=0)
    message = models.CharField(_("说明"), max_length=300, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("任务进度")
        verbose_name_plural = _("任务进度")

    def __str__(self) -> str:
        return f"{self.name} {self.percent}%"


class PeriodicJobState(models.Model):
    """When the scheduler last enqueued a periodic job and when it is due next (core/scheduling.py)."""

    name = models.CharField(max_length=120, unique=True)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("定时任务状态")
        verbose_name_plural = _("定时任务状态")

    def __str__(self) -> str:
        return self.name


class WorkerHeartbeat(models.Model):
    """Written by the heartbeat task that the scheduler enqueues and a worker runs: a fresh beat proves
    both are alive and the queue moves."""

    worker = models.CharField(max_length=120, unique=True)
    seen_at = models.DateTimeField()

    class Meta:
        verbose_name = _("任务进程心跳")
        verbose_name_plural = _("任务进程心跳")

    def __str__(self) -> str:
        return f"{self.worker} @ {self.seen_at}"


class PolicyValue(models.Model):
    """A dated value of a named policy setting (a validity period, a reminder window, a geofence radius).

    Apps declare each setting and its default in code (core/policy.py); a row here overrides the default
    from `valid_from` on, so a change is dated, kept and auditable rather than edited in place."""

    key = models.CharField(_("政策参数"), max_length=80, db_index=True)
    value = models.JSONField(_("取值"), encoder=DjangoJSONEncoder)
    valid_from = models.DateField(_("生效日期"))
    note = models.CharField(_("依据/说明"), max_length=300, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(_("设置时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("政策参数")
        verbose_name_plural = _("政策参数")
        ordering = ["key", "-valid_from", "-id"]

    def __str__(self) -> str:
        return f"{self.key} = {self.value}（{self.valid_from} 起）"
