"""Service orders (线上点单、线下派单), their dispatch to providers, the visits that deliver them, monthly
settlement and fraud flags (DOMAIN.md §5).

An order moves through the states of enums.OrderStatus only by the services in services/, each writing
an OrderEvent (the order's history, shown on its page) and an audit row in one transaction."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _

from yanglao.core.models import TimeStampedModel
from yanglao.orders.enums import (
    Channel,
    ConfirmMethod,
    FlagKind,
    FlagStatus,
    FollowUpOutcome,
    OfferOutcome,
    OrderStatus,
    SettlementStatus,
)


class Order(TimeStampedModel):
    elder = models.ForeignKey(
        "registry.Elder", verbose_name=_("老年人"), on_delete=models.PROTECT, related_name="orders"
    )
    # The elder's community when the order was taken: what scopes the order for staff, even if the
    # elder moves later.
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("所在社区"), on_delete=models.PROTECT, related_name="+"
    )
    item = models.ForeignKey(
        "providers.CatalogueItem", verbose_name=_("服务项目"), on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("下单渠道"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("状态"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.CREATED, db_index=True
    )
    window_start = models.DateTimeField(_("期望服务开始"))
    window_end = models.DateTimeField(_("期望服务结束"))
    note = models.CharField(_("备注"), max_length=500, blank=True)
    provider = models.ForeignKey(
        "providers.Provider",
        verbose_name=_("服务机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    worker = models.ForeignKey(
        "providers.CareWorker",
        verbose_name=_("护理员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    # The provider's price for the item, fixed when the provider accepts.
    price = models.DecimalField(_("服务价格（元）"), max_digits=10, decimal_places=2, null=True, blank=True)
    # Read out by the elder to the care worker at the end of the visit; never shown to the worker.
    confirm_code = models.CharField(_("确认码"), max_length=6)
    # Wrong codes typed for this order; kept in the database so every web worker counts the same tries.
    code_failures = models.PositiveSmallIntegerField(_("确认码错误次数"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("服务工单")
        verbose_name_plural = _("服务工单")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["region", "status"], name="order_region_status"),
            models.Index(fields=["provider", "status"], name="order_provider_status"),
            models.Index(fields=["worker", "window_start"], name="order_worker_window"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(window_end__gt=models.F("window_start")), name="order_window")
        ]

    def __str__(self) -> str:
        return f"No.{self.pk} {self.get_status_display()}"


class OrderEvent(models.Model):
    """One step of an order's history: who did what, from which state to which, when, and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("操作"), max_length=20)
    from_status = models.CharField(_("原状态"), max_length=12, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=12, choices=OrderStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(_("操作人"), max_length=150, blank=True)
    at = models.DateTimeField(_("时间"))
    note = models.CharField(_("说明"), max_length=500, blank=True)
    data = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        verbose_name = _("工单记录")
        verbose_name_plural = _("工单记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.action} {self.from_status}→{self.to_status}"


class DispatchOffer(models.Model):
    """One dispatch of an order to one provider, with the deadline to accept and how it ended."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="offers")
    provider = models.ForeignKey(
        "providers.Provider", verbose_name=_("服务机构"), on_delete=models.PROTECT, related_name="+"
    )
    automatic = models.BooleanField(_("自动派单"), default=True)
    distance_m = models.FloatField(_("距离（米）"), null=True, blank=True)
    score = models.FloatField(_("派单得分"), null=True, blank=True)
    offered_at = models.DateTimeField(_("派单时间"))
    deadline = models.DateTimeField(_("接单截止"), db_index=True)
    outcome = models.CharField(
        _("结果"), max_length=10, choices=OfferOutcome.choices, default=OfferOutcome.PENDING, db_index=True
    )
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("派单记录")
        verbose_name_plural = _("派单记录")
        ordering = ["offered_at", "id"]
        constraints = [
            # At most one provider holds an order's pending offer.
            models.UniqueConstraint(
                fields=["order"], condition=Q(outcome="pending"), name="one_pending_offer_per_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_id} → {self.provider_id} {self.outcome}"


class Visit(TimeStampedModel):
    """The service at the home: check-in and check-out with time and position, what was done, the
    elder's confirmation and rating, and how it was paid."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="visit")
    worker = models.ForeignKey(
        "providers.CareWorker", verbose_name=_("护理员"), on_delete=models.PROTECT, related_name="visits"
    )
    check_in_at = models.DateTimeField(_("签到时间"), db_index=True)
    check_in_latitude = models.FloatField(_("签到纬度"), null=True, blank=True)
    check_in_longitude = models.FloatField(_("签到经度"), null=True, blank=True)
    check_in_accuracy_m = models.FloatField(_("签到定位精度（米）"), null=True, blank=True)
    # Distance from the elder's home; NULL when either position is unknown.
    check_in_distance_m = models.FloatField(_("签到距住址（米）"), null=True, blank=True)
    check_out_at = models.DateTimeField(_("签退时间"), null=True, blank=True)
    check_out_latitude = models.FloatField(_("签退纬度"), null=True, blank=True)
    check_out_longitude = models.FloatField(_("签退经度"), null=True, blank=True)
    check_out_distance_m = models.FloatField(_("签退距住址（米）"), null=True, blank=True)
    items_done = models.JSONField(_("服务内容"), default=list, blank=True)
    record = models.TextField(_("服务记录"), blank=True)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True, db_index=True)
    confirm_method = models.CharField(_("确认方式"), max_length=10, choices=ConfirmMethod.choices, blank=True)
    rating = models.PositiveSmallIntegerField(_("评分"), null=True, blank=True)
    rating_comment = models.CharField(_("评价"), max_length=500, blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    amount = models.DecimalField(_("服务金额（元）"), max_digits=10, decimal_places=2, default=0)
    account_paid = models.DecimalField(_("服务账户支付（元）"), max_digits=10, decimal_places=2, default=0)
    self_paid = models.DecimalField(_("个人自付（元）"), max_digits=10, decimal_places=2, default=0)
    ledger_entry_id = models.BigIntegerField(_("服务账户流水号"), null=True, blank=True)

    class Meta:
        verbose_name = _("上门服务记录")
        verbose_name_plural = _("上门服务记录")
        ordering = ["-check_in_at", "-id"]
        indexes = [models.Index(fields=["worker", "check_in_at"], name="visit_worker_time")]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="visit_rating_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(check_out_at__isnull=True) | Q(check_out_at__gte=models.F("check_in_at")),
                name="visit_out_after_in",
            ),
        ]

    def __str__(self) -> str:
        return f"visit of order {self.order_id}"


class VisitPhoto(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("照片"), upload_to="visits/%Y/%m/")
    # 64-bit difference hash as 16 hex digits: equal for the same picture re-encoded or resized.
    phash = models.CharField(_("感知哈希"), max_length=16, db_index=True)
    uploaded_at = models.DateTimeField(_("上传时间"))

    class Meta:
        verbose_name = _("服务照片")
        verbose_name_plural = _("服务照片")
        ordering = ["uploaded_at", "id"]
        # The reused-photo check joins photos on five slices of the hash (any two hashes within 4 bits
        # agree on at least one slice: fraud._photo_reused); one index per slice keeps each join a lookup.
        indexes = [
            models.Index(Substr("phash", start, length), name=f"photo_phash_{start}")
            for start, length in ((1, 4), (5, 3), (8, 3), (11, 3), (14, 3))
        ]

    def __str__(self) -> str:
        return f"photo {self.pk} of visit {self.visit_id}"


class FollowUp(models.Model):
    """A follow-up call (回访) to the elder on a sample of confirmed visits."""

    visit = models.OneToOneField(Visit, on_delete=models.CASCADE, related_name="follow_up")
    outcome = models.CharField(
        _("回访结果"),
        max_length=12,
        choices=FollowUpOutcome.choices,
        default=FollowUpOutcome.PENDING,
        db_index=True,
    )
    note = models.CharField(_("回访记录"), max_length=500, blank=True)
    sampled_at = models.DateTimeField(_("抽样时间"))
    called_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("服务回访")
        verbose_name_plural = _("服务回访")

    def __str__(self) -> str:
        return f"follow-up of visit {self.visit_id}: {self.outcome}"


class FraudFlag(models.Model):
    """A reason to doubt a visit, with its evidence. An open flag holds the visit out of settlement
    until the district clears it."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(_("疑点类型"), max_length=20, choices=FlagKind.choices)
    status = models.CharField(
        _("核查状态"), max_length=10, choices=FlagStatus.choices, default=FlagStatus.OPEN, db_index=True
    )
    evidence = models.JSONField(_("证据"), default=dict)
    summary = models.CharField(_("说明"), max_length=300)
    detected_at = models.DateTimeField(_("发现时间"), db_index=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("核查时间"), null=True, blank=True)
    review_note = models.CharField(_("核查意见"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("服务疑点")
        verbose_name_plural = _("服务疑点")
        ordering = ["-detected_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["visit", "kind"], name="one_flag_per_visit_and_kind")]

    def __str__(self) -> str:
        return f"{self.kind} on visit {self.visit_id} ({self.status})"


class Settlement(TimeStampedModel):
    """A provider's statement for one month: the confirmed visits paid, split into service-account
    subsidy and self-pay."""

    provider = models.ForeignKey(
        "providers.Provider", verbose_name=_("服务机构"), on_delete=models.PROTECT, related_name="+"
    )
    period = models.CharField(_("结算月份"), max_length=7)
    status = models.CharField(
        _("状态"), max_length=8, choices=SettlementStatus.choices, default=SettlementStatus.OPEN
    )
    visit_count = models.PositiveIntegerField(_("服务次数"), default=0)
    amount = models.DecimalField(_("服务金额（元）"), max_digits=14, decimal_places=2, default=0)
    account_amount = models.DecimalField(_("服务账户支付（元）"), max_digits=14, decimal_places=2, default=0)
    self_amount = models.DecimalField(_("个人自付（元）"), max_digits=14, decimal_places=2, default=0)
    closed_at = models.DateTimeField(_("对账时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("服务结算单")
        verbose_name_plural = _("服务结算单")
        ordering = ["-period", "provider_id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "period"], name="one_settlement_per_provider_month")
        ]

    def __str__(self) -> str:
        return f"{self.provider_id} {self.period}"


class SettlementLine(models.Model):
    """One visit on a statement. A visit is on one statement at most: settling twice pays nothing twice."""

    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="lines")
    visit = models.OneToOneField(Visit, on_delete=models.PROTECT, related_name="settlement_line")
    amount = models.DecimalField(_("服务金额（元）"), max_digits=10, decimal_places=2)
    account_amount = models.DecimalField(_("服务账户支付（元）"), max_digits=10, decimal_places=2)
    self_amount = models.DecimalField(_("个人自付（元）"), max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = _("结算明细")
        verbose_name_plural = _("结算明细")

    def __str__(self) -> str:
        return f"visit {self.visit_id} on {self.settlement_id}"
