"""An uploaded import file and what its import did (who, which file, counts, the error workbook), so the
page can show a user their recent imports and hand the error workbook to its owner only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yanglao.core.models import TimeStampedModel


class ImportRun(TimeStampedModel):
    class Kind(models.TextChoices):
        """The registry's own kinds; higher apps add theirs (registry.uploads.KINDS), so the column
        holds any registered code."""

        ELDERS = "elders", _("老年人信息")
        EVENTS = "events", _("生活事件（部门数据文件）")

    class State(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("进行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    # The background task's result id: the progress bar (core.jobs.Progress) is keyed by it too.
    job_id = models.CharField(_("任务编号"), max_length=64, unique=True, null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("导入人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("导入内容"), max_length=20, default=Kind.ELDERS)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.QUEUED)
    file_name = models.CharField(_("文件名"), max_length=200)
    # Paths relative to MEDIA_ROOT.
    file = models.CharField(_("存储位置"), max_length=300)
    errors_file = models.CharField(_("错误工作簿"), max_length=300, blank=True)
    created_count = models.PositiveIntegerField(_("新增"), default=0)
    updated_count = models.PositiveIntegerField(_("更新"), default=0)
    unchanged_count = models.PositiveIntegerField(_("未变"), default=0)
    rejected_count = models.PositiveIntegerField(_("错误行"), default=0)
    header_problems = models.JSONField(_("表头问题"), default=list, blank=True)
    message = models.CharField(_("说明"), max_length=300, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导入记录")
        verbose_name_plural = _("导入记录")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "created_at"])]

    def __str__(self) -> str:
        return f"{self.file_name}（{self.get_state_display()}）"

    @property
    def kind_label(self) -> str:
        from yanglao.registry.uploads import label_of

        return label_of(self.kind)

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)
