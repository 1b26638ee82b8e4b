"""Elderly-care facilities (DOMAIN.md §4): district guidance centres, street centres, day-care centres,
stations, canteens, care homes and institutions.

A facility's kind is a row of FacilityKind (loaded from kinds.yaml), and everything that differs
between kinds — beds, grading, filing, a minimum floor area, services a kind must offer — is a field of
that row, so a deployment can change the rules on the admin pages and no code branches on a kind."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from yanglao.core.models import TimeStampedModel
from yanglao.facilities.enums import GRADES, LEVEL_CODE_LENGTH, KindLevel, OperatingModel, ServiceCode, Status

# Mainland China, with its islands (Zengmu Reef 3.8° N to Mohe 53.6° N, Pamirs 73.5° E to Fuyuan 135.1° E).
LATITUDE_RANGE = (3.8, 53.6)
LONGITUDE_RANGE = (73.5, 135.1)


class FacilityKind(models.Model):
    code = models.CharField(_("类别代码"), max_length=30, primary_key=True)
    name = models.CharField(_("类别名称"), max_length=100, unique=True)
    level = models.CharField(_("所在层级"), max_length=10, choices=KindLevel.choices)
    order = models.PositiveSmallIntegerField(_("排序"), default=100)
    has_beds = models.BooleanField(
        _("设有床位"), default=False, help_text=_("是：须填写床位数；否：不得填写床位")
    )
    gradable = models.BooleanField(
        _("参加等级评定"), default=False, help_text=_("GB/T 37276-2018 一级至五级")
    )
    requires_filing = models.BooleanField(
        _("须备案"), default=False, help_text=_("养老机构管理办法：未填写备案号的显示“待备案”")
    )
    rural = models.BooleanField(_("多设在农村"), default=False)
    min_floor_area_m2 = models.DecimalField(
        _("最小建筑面积（平方米）"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    required_services = models.JSONField(_("必须提供的服务"), default=list, blank=True)
    typical_services = models.JSONField(_("常见服务"), default=list, blank=True)
    description = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("设施类别")
        verbose_name_plural = _("设施类别")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def min_region_length(self) -> int:
        """The shortest division code a facility of this kind may be registered at."""
        return LEVEL_CODE_LENGTH[KindLevel(self.level)]


class Facility(TimeStampedModel):
    name = models.CharField(_("设施名称"), max_length=200)
    kind = models.ForeignKey(
        FacilityKind, verbose_name=_("设施类别"), on_delete=models.PROTECT, related_name="facilities"
    )
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("所在区域"), on_delete=models.PROTECT, related_name="+"
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    floor_area_m2 = models.DecimalField(
        _("建筑面积（平方米）"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    beds = models.PositiveIntegerField(_("床位数"), default=0)
    occupied_beds = models.PositiveIntegerField(_("在住人数（占用床位）"), default=0)
    operator = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("运营机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="facilities",
    )
    operating_model = models.CharField(_("运营模式"), max_length=20, choices=OperatingModel.choices)
    services = models.JSONField(_("服务项目"), default=list, blank=True)
    opening_hours = models.CharField(_("开放时间"), max_length=100, blank=True)
    filing_number = models.CharField(_("备案号"), max_length=50, blank=True)
    filing_date = models.DateField(_("备案日期"), null=True, blank=True)
    grade = models.PositiveSmallIntegerField(_("等级"), choices=GRADES, null=True, blank=True)
    grade_date = models.DateField(_("评定日期"), null=True, blank=True)
    ltc_designated = models.BooleanField(_("长护险定点"), default=False)
    monthly_fee_min = models.DecimalField(
        _("月收费下限（元）"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    monthly_fee_max = models.DecimalField(
        _("月收费上限（元）"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.OPERATING, db_index=True
    )
    status_since = models.DateField(_("状态起始日期"), null=True, blank=True)
    status_reason = models.CharField(_("状态变更原因"), max_length=300, blank=True)
    note = models.TextField(_("备注"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("养老服务设施")
        verbose_name_plural = _("养老服务设施")
        ordering = ["kind__order", "region_id", "name"]
        indexes = [
            models.Index(fields=["region", "kind"], name="facility_region_kind"),
            models.Index(fields=["kind", "status"], name="facility_kind_status"),
            # The bounding-box prefilter of selectors.facilities_near.
            models.Index(fields=["latitude", "longitude"], name="facility_position"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(occupied_beds__lte=F("beds")), name="facility_occupied_within_beds"
            ),
            models.CheckConstraint(
                condition=Q(grade__isnull=True) | Q(grade__gte=1, grade__lte=5), name="facility_grade_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(grade__isnull=True, grade_date__isnull=True)
                | Q(grade__isnull=False, grade_date__isnull=False),
                name="facility_grade_with_its_date",
            ),
            models.CheckConstraint(
                condition=Q(monthly_fee_min__isnull=True)
                | Q(monthly_fee_max__isnull=True)
                | Q(monthly_fee_min__lte=F("monthly_fee_max")),
                name="facility_fee_min_within_max",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(
                    latitude__gte=LATITUDE_RANGE[0],
                    latitude__lte=LATITUDE_RANGE[1],
                    longitude__gte=LONGITUDE_RANGE[0],
                    longitude__lte=LONGITUDE_RANGE[1],
                ),
                name="facility_position_in_china",
            ),
            # One name per division: a second "XX社区日间照料中心" in the same community is a duplicate.
            models.UniqueConstraint(fields=["region", "name"], name="facility_unique_name_in_region"),
            models.UniqueConstraint(
                fields=["filing_number"], condition=~Q(filing_number=""), name="facility_unique_filing_number"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def occupancy_rate(self) -> Decimal | None:
        """床位使用率: occupied beds / beds, as a fraction with four decimals (None without beds)."""
        if not self.beds:
            return None
        return (Decimal(self.occupied_beds) / Decimal(self.beds)).quantize(Decimal("0.0001"))

    @property
    def occupancy_percent(self) -> Decimal | None:
        rate = self.occupancy_rate
        return None if rate is None else (rate * 100).quantize(Decimal("0.1"))

    @property
    def filing_missing(self) -> bool:
        """待备案: a kind that must file (养老机构) with no filing number yet."""
        return self.kind.requires_filing and not self.filing_number

    @property
    def service_labels(self) -> list[str]:
        labels = dict(ServiceCode.choices)
        return [str(labels.get(code, code)) for code in self.services or []]
