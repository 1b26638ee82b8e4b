"""Enumerations of the assessment workflow (DOMAIN.md §2)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RequestKind(models.TextChoices):
    FIRST = "first", _("首次评估")
    ROUTINE = "routine", _("常规评估")
    IMMEDIATE = "immediate", _("即时评估")
    DISPUTE = "dispute", _("复评（对结果有异议）")


class Status(models.TextChoices):
    REQUESTED = "requested", _("待派单")
    ASSIGNED = "assigned", _("已派评估机构")
    IN_PROGRESS = "in_progress", _("评估中")
    SUBMITTED = "submitted", _("待审核")
    RETURNED = "returned", _("退回修改")
    EFFECTIVE = "effective", _("已生效")
    SUPERSEDED = "superseded", _("已被新结果取代")
    EXPIRED = "expired", _("已过期")
    RECORDED = "recorded", _("已记录（不定等级）")  # an approved instrument that sets no ability level
    CANCELLED = "cancelled", _("已撤销")


# A request is open from the moment it is made until it takes effect or is cancelled; an elder has at
# most one open request (a database constraint).
OPEN = (Status.REQUESTED, Status.ASSIGNED, Status.IN_PROGRESS, Status.SUBMITTED, Status.RETURNED)
# The assessors may change answers in these states.
EDITABLE = (Status.ASSIGNED, Status.IN_PROGRESS, Status.RETURNED)


class RiskEvent(models.TextChoices):
    """Care-risk events of GB/T 42195-2022 C.4 counted over the last 30 days."""

    FALL = "fall", _("跌倒")
    CHOKING = "choking", _("噎食")
    SELF_HARM = "self_harm", _("自杀、自伤")
    WANDERING = "wandering", _("走失")
    OTHER = "other", _("其他")


class Level(models.TextChoices):
    """The stable level codes of every level-bearing instrument (labels are GB/T 42195-2022's)."""

    INTACT = "intact", _("能力完好")
    MILD = "mild", _("轻度失能")
    MODERATE = "moderate", _("中度失能")
    SEVERE = "severe", _("重度失能")
    COMPLETE = "complete", _("完全失能")
