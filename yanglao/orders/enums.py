"""Enumerations of service orders, visits, settlement and fraud flags (DOMAIN.md §5). Stable codes in the
database and the API, Chinese labels on screens."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """Where an order came from (线上点单: portal; 线下: phone, community worker, device, care plan)."""

    PORTAL = "portal", _("老人/家属线上下单")
    PHONE = "phone", _("坐席电话下单")
    COMMUNITY = "community", _("社区工作人员代下单")
    DEVICE = "device", _("智能设备呼叫")
    PLAN = "plan", _("服务计划排期")


class OrderStatus(models.TextChoices):
    CREATED = "created", _("待派单")
    DISPATCHED = "dispatched", _("已派单待接单")
    ACCEPTED = "accepted", _("已接单")
    ASSIGNED = "assigned", _("已分配护理员")
    CHECKED_IN = "checked_in", _("服务中")
    CHECKED_OUT = "checked_out", _("服务完成待确认")
    CONFIRMED = "confirmed", _("老人已确认")
    RATED = "rated", _("已评价")
    SETTLED = "settled", _("已结算")
    REJECTED = "rejected", _("无机构接单")
    CANCELLED = "cancelled", _("已取消")
    EXPIRED = "expired", _("已过期")


# Orders still being worked on: they count against a provider's daily capacity and may be cancelled.
OPEN_STATUSES = frozenset(
    {
        OrderStatus.CREATED,
        OrderStatus.DISPATCHED,
        OrderStatus.ACCEPTED,
        OrderStatus.ASSIGNED,
        OrderStatus.CHECKED_IN,
        OrderStatus.CHECKED_OUT,
    }
)
# A provider holds these: they count as its load.
HELD_STATUSES = frozenset(
    {OrderStatus.DISPATCHED, OrderStatus.ACCEPTED, OrderStatus.ASSIGNED, OrderStatus.CHECKED_IN}
)
# The visit happened and the elder confirmed it: payable, settleable.
DONE_STATUSES = frozenset({OrderStatus.CONFIRMED, OrderStatus.RATED, OrderStatus.SETTLED})


class OfferOutcome(models.TextChoices):
    """What became of one dispatch of an order to one provider."""

    PENDING = "pending", _("待接单")
    ACCEPTED = "accepted", _("已接单")
    REJECTED = "rejected", _("已拒单")
    TIMED_OUT = "timed_out", _("超时未接单")
    WITHDRAWN = "withdrawn", _("已改派")


class ConfirmMethod(models.TextChoices):
    CODE = "code", _("老人报确认码")
    FAMILY = "family", _("家属点击确认")
    OPERATOR = "operator", _("坐席电话确认")


class FlagKind(models.TextChoices):
    FAR_CHECK_IN = "far_check_in", _("签到位置距老人住址过远")
    SHORT_DURATION = "short_duration", _("服务时长远低于标准")
    OVERLAP = "overlap", _("同一护理员服务时间重叠")
    IMPOSSIBLE_TRAVEL = "impossible_travel", _("两次服务间移动速度不合理")
    AFTER_DEATH = "after_death", _("老人去世后仍有服务")
    IN_HOSPITAL = "in_hospital", _("老人住院期间仍有服务")
    PHOTO_REUSED = "photo_reused", _("服务照片重复使用")
    NOT_SERVED = "not_served", _("回访时老人反映未服务")


class FlagStatus(models.TextChoices):
    OPEN = "open", _("待核查")
    CLEARED = "cleared", _("核查无误")
    CONFIRMED = "confirmed", _("确认违规")


class FollowUpOutcome(models.TextChoices):
    PENDING = "pending", _("待回访")
    SATISFIED = "satisfied", _("满意")
    DISSATISFIED = "dissatisfied", _("不满意")
    NOT_SERVED = "not_served", _("反映未服务")
    UNREACHABLE = "unreachable", _("无法联系")


class SettlementStatus(models.TextChoices):
    OPEN = "open", _("结算中")
    CLOSED = "closed", _("已对账")
