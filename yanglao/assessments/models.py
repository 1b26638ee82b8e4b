"""Ability assessments (DOMAIN.md §2): one row follows a request from the community to an effective,
dated ability level — request → assigned to an assessment organisation → answered on site by two
assessors who both attest → reviewed → effective for a validity period → superseded or expired.

The answers are kept item by item with the instrument's code, so the elder's page can show each item's
option wording years later, and the computed result (total, groups, levels, adjustments) is frozen when
the assessors attest, so a later change of a definition never rewrites a decided level."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yanglao.assessments.enums import OPEN, Level, RequestKind, Status
from yanglao.assessments.instruments import DEFAULT
from yanglao.core.models import TimeStampedModel

_USER = settings.AUTH_USER_MODEL


class Assessment(TimeStampedModel):
    elder = models.ForeignKey(
        "registry.Elder", verbose_name=_("老年人"), on_delete=models.PROTECT, related_name="assessments"
    )
    kind = models.CharField(_("评估类型"), max_length=12, choices=RequestKind.choices)
    reason = models.CharField(_("申请原因"), max_length=300, blank=True)
    instrument = models.CharField(_("评估工具"), max_length=40, default=DEFAULT)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.REQUESTED, db_index=True
    )
    requested_by = models.ForeignKey(
        _USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The effective assessment a routine or dispute request renews or contests.
    previous = models.ForeignKey(
        "self", verbose_name=_("原评估"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("评估机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assessments",
    )
    assigned_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assigned_at = models.DateTimeField(_("派单时间"), null=True, blank=True)

    # What the assessors found (a draft until both attest).
    answers = models.JSONField(_("各项得分"), default=dict, blank=True)
    coma = models.BooleanField(_("昏迷"), default=False)
    diagnoses = models.JSONField(_("疾病诊断（ICD-10）"), default=list, blank=True)
    risk_events = models.JSONField(_("近30天照护风险事件"), default=dict, blank=True)
    assessed_on = models.DateField(_("评估日期"), null=True, blank=True)
    place = models.CharField(_("评估地点"), max_length=200, blank=True)
    notes = models.TextField(_("评估说明"), blank=True)
    draft_saved_at = models.DateTimeField(_("草稿保存时间"), null=True, blank=True)
    assessor_1 = models.ForeignKey(
        _USER, verbose_name=_("评估员一"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attested_1_at = models.DateTimeField(null=True, blank=True)
    assessor_2 = models.ForeignKey(
        _USER, verbose_name=_("评估员二"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attested_2_at = models.DateTimeField(null=True, blank=True)

    # The result, frozen when both assessors have attested.
    total = models.PositiveSmallIntegerField(_("总分"), null=True, blank=True)
    group_scores = models.JSONField(_("分组得分"), default=dict, blank=True)
    preliminary_level = models.CharField(_("初步等级"), max_length=10, choices=Level.choices, blank=True)
    final_level = models.CharField(_("最终等级"), max_length=10, choices=Level.choices, blank=True)
    level_label = models.CharField(_("等级名称"), max_length=30, blank=True)  # the instrument's own wording
    adjustments = models.JSONField(_("等级调整"), default=list, blank=True)
    submitted_at = models.DateTimeField(_("提交审核时间"), null=True, blank=True)

    reviewed_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    review_note = models.CharField(_("审核意见"), max_length=300, blank=True)
    valid_from = models.DateField(_("生效日期"), null=True, blank=True)
    valid_until = models.DateField(_("有效期至"), null=True, blank=True, db_index=True)
    reminded_at = models.DateTimeField(_("到期提醒时间"), null=True, blank=True)

    cancel_reason = models.CharField(_("撤销原因"), max_length=300, blank=True)
    # A request cancelled because of a life event (a death) comes back if the event is corrected.
    cancelled_for_event = models.PositiveBigIntegerField(null=True, blank=True)
    status_before_cancel = models.CharField(max_length=12, choices=Status.choices, blank=True)

    class Meta:
        verbose_name = _("能力评估")
        verbose_name_plural = _("能力评估")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["elder", "status"]),
            models.Index(fields=["organisation", "status"]),
            models.Index(fields=["status", "valid_until"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["elder"], condition=Q(status__in=list(OPEN)), name="assessment_one_open_per_elder"
            ),
            models.UniqueConstraint(
                fields=["elder"],
                condition=Q(status=Status.EFFECTIVE),
                name="assessment_one_effective_per_elder",
            ),
            models.CheckConstraint(
                condition=Q(assessor_1__isnull=True)
                | Q(assessor_2__isnull=True)
                | ~Q(assessor_1=models.F("assessor_2")),
                name="assessment_two_different_assessors",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.elder} {self.get_kind_display()} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def risk_events_30d(self) -> int:
        return sum(int(n) for n in (self.risk_events or {}).values())

    @property
    def attested_by(self) -> list:
        return [u for u in (self.assessor_1, self.assessor_2) if u is not None]
