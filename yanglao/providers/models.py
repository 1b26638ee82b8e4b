"""Service providers, what they offer, what the government buys from them, and their care workers
(DOMAIN.md §4), and the city's service catalogue (DOMAIN.md §5).

The organisation itself (name, kind, credit code, region) lives in accounts.Organisation, because its
staff sign in there; a Provider is that organisation's profile as a service provider. Care workers'
ID and phone numbers are personal data: encrypted at rest, found by a keyed hash (DESIGN.md rule 5).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from yanglao.core import idcard, pii
from yanglao.core.fields import EncryptedTextField, LookupHashField
from yanglao.core.models import TimeStampedModel
from yanglao.providers.enums import CertificateGrade, LegalForm, ProviderStatus, Unit, WorkerStatus
from yanglao.registry.enums import Sex

# Mainland China's extent (with a margin), so a position typed with latitude and longitude swapped, or
# in another datum's units, is refused instead of drawing a provider in the sea.
LATITUDE_RANGE = (3.8, 53.6)
LONGITUDE_RANGE = (73.4, 135.1)


class CatalogueItem(TimeStampedModel):
    """One kind of service the city's programmes buy (助餐, 助浴, …), shared by orders, meals and plans.

    The reference price is the city's published guide price; each provider sets its own price in an offer."""

    code = models.SlugField(_("项目代码"), max_length=32, unique=True)
    name = models.CharField(_("项目名称"), max_length=50)
    unit = models.CharField(_("计量单位"), max_length=8, choices=Unit.choices)
    standard_minutes = models.PositiveIntegerField(_("标准服务时长（分钟）"))
    reference_price = models.DecimalField(_("参考价格（元）"), max_digits=10, decimal_places=2)
    description = models.TextField(_("服务内容"), blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    # Whether an elder's service account (subsidy credit) may pay for this item; otherwise self-paid.
    account_payable = models.BooleanField(_("可用服务账户支付"), default=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("服务项目")
        verbose_name_plural = _("服务目录")
        ordering = ["order", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(reference_price__gte=0), name="catalogue_price_not_negative"),
            models.CheckConstraint(condition=Q(standard_minutes__gte=1), name="catalogue_minutes_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Provider(TimeStampedModel):
    organisation = models.OneToOneField(
        "accounts.Organisation",
        verbose_name=_("机构"),
        on_delete=models.PROTECT,
        related_name="provider_profile",
    )
    legal_form = models.CharField(_("机构性质"), max_length=12, choices=LegalForm.choices)
    legal_representative = models.CharField(_("法定代表人"), max_length=50)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = EncryptedTextField(_("联系电话"), blank=True, normalize=pii.normalize_phone)
    contact_phone_hash = LookupHashField(source="contact_phone")
    address = models.CharField(_("地址"), max_length=200, blank=True)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    service_areas = models.ManyToManyField(
        "regions.Region", verbose_name=_("服务区域"), blank=True, related_name="+"
    )
    status = models.CharField(
        _("合作状态"),
        max_length=12,
        choices=ProviderStatus.choices,
        default=ProviderStatus.ACTIVE,
        db_index=True,
    )
    status_reason = models.CharField(_("状态说明"), max_length=300, blank=True)
    status_since = models.DateField(_("状态起始日期"), null=True, blank=True)
    daily_capacity = models.PositiveIntegerField(_("日服务能力（单）"), default=0)
    # Fed by the orders app through provider_record_rating; NULL until the first rating.
    rating = models.DecimalField(_("评分"), max_digits=5, decimal_places=4, null=True, blank=True)
    rating_count = models.PositiveIntegerField(_("评价数"), default=0)

    class Meta:
        verbose_name = _("服务机构")
        verbose_name_plural = _("服务机构")
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=0, rating__lte=5),
                name="provider_rating_0_to_5",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True)
                | Q(latitude__gte=LATITUDE_RANGE[0], latitude__lte=LATITUDE_RANGE[1]),
                name="provider_latitude_in_china",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True)
                | Q(longitude__gte=LONGITUDE_RANGE[0], longitude__lte=LONGITUDE_RANGE[1]),
                name="provider_longitude_in_china",
            ),
        ]

    def __str__(self) -> str:
        return self.organisation.name

    @property
    def name(self) -> str:
        return self.organisation.name

    @property
    def masked_contact_phone(self) -> str:
        return pii.mask_phone(self.contact_phone)


class ProviderOffer(TimeStampedModel):
    """A catalogue item a provider offers, at its own price (withdrawn offers are kept, inactive)."""

    provider = models.ForeignKey(
        Provider, verbose_name=_("服务机构"), on_delete=models.CASCADE, related_name="offers"
    )
    item = models.ForeignKey(
        CatalogueItem, verbose_name=_("服务项目"), on_delete=models.PROTECT, related_name="offers"
    )
    price = models.DecimalField(_("价格（元）"), max_digits=10, decimal_places=2)
    is_active = models.BooleanField(_("提供中"), default=True)

    class Meta:
        verbose_name = _("服务项目报价")
        verbose_name_plural = _("服务项目报价")
        ordering = ["item__order", "item__code"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "item"], name="offer_one_per_provider_item"),
            models.CheckConstraint(condition=Q(price__gt=0), name="offer_price_positive"),
        ]
        indexes = [models.Index(fields=["item", "is_active"])]

    def __str__(self) -> str:
        return f"{self.provider} · {self.item}"


class PurchaseContract(TimeStampedModel):
    """A government purchase-of-services contract (政府购买服务合同) with a provider."""

    provider = models.ForeignKey(
        Provider, verbose_name=_("服务机构"), on_delete=models.PROTECT, related_name="contracts"
    )
    number = models.CharField(_("合同编号"), max_length=60, unique=True)
    title = models.CharField(_("合同名称"), max_length=200)
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("采购方所在区域"), on_delete=models.PROTECT, related_name="+"
    )
    start_on = models.DateField(_("开始日期"))
    end_on = models.DateField(_("结束日期"))
    budget = models.DecimalField(_("合同金额（元）"), max_digits=14, decimal_places=2)
    items = models.ManyToManyField(
        CatalogueItem, verbose_name=_("服务项目"), blank=True, related_name="contracts"
    )
    signed_on = models.DateField(_("签订日期"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("政府购买服务合同")
        verbose_name_plural = _("政府购买服务合同")
        ordering = ["-start_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(end_on__gte=F("start_on")), name="contract_ends_after_start"),
            models.CheckConstraint(condition=Q(budget__gte=0), name="contract_budget_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def in_force_on(self, day) -> bool:  # type: ignore[no-untyped-def]
        return self.start_on <= day <= self.end_on


class CareWorker(TimeStampedModel):
    """A care worker (护理员) employed by a provider. Birth date and sex are read from the ID number."""

    name = models.CharField(_("姓名"), max_length=50, db_index=True)
    id_number = EncryptedTextField(_("身份证号码"), normalize=idcard.normalize)
    id_number_hash = LookupHashField(source="id_number", unique=True)
    birth_date = models.DateField(_("出生日期"))
    sex = models.CharField(_("性别"), max_length=6, choices=Sex.choices)
    phone = EncryptedTextField(_("手机号码"), blank=True, normalize=pii.normalize_phone)
    phone_hash = LookupHashField(source="phone")
    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("所属机构"),
        on_delete=models.PROTECT,
        related_name="care_workers",
    )
    # The worker's own sign-in, when they have one: a care worker sees their own record through it.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登录账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="care_worker_profile",
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=WorkerStatus.choices, default=WorkerStatus.ACTIVE, db_index=True
    )
    status_reason = models.CharField(_("状态说明"), max_length=300, blank=True)
    status_since = models.DateField(_("状态起始日期"), null=True, blank=True)
    hired_on = models.DateField(_("入职日期"), null=True, blank=True)
    health_certificate_expires = models.DateField(_("健康证有效期至"), null=True, blank=True, db_index=True)
    note = models.CharField(_("备注"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("护理员")
        verbose_name_plural = _("护理员")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["organisation", "status"])]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_id_number(self) -> str:
        return pii.mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return pii.mask_phone(self.phone)


class Certificate(TimeStampedModel):
    """A 养老护理员 vocational skill level certificate (职业技能等级证书)."""

    worker = models.ForeignKey(
        CareWorker, verbose_name=_("护理员"), on_delete=models.CASCADE, related_name="certificates"
    )
    grade = models.CharField(_("等级"), max_length=20, choices=CertificateGrade.choices)
    number = models.CharField(_("证书编号"), max_length=60)
    issued_on = models.DateField(_("发证日期"))
    expires_on = models.DateField(_("有效期至"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("职业技能等级证书")
        verbose_name_plural = _("职业技能等级证书")
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["grade", "number"], name="certificate_number_unique_per_grade"),
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gte=F("issued_on")),
                name="certificate_expires_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_grade_display()} {self.number}"


class TrainingRecord(TimeStampedModel):
    worker = models.ForeignKey(
        CareWorker, verbose_name=_("护理员"), on_delete=models.CASCADE, related_name="trainings"
    )
    topic = models.CharField(_("培训内容"), max_length=200)
    hours = models.DecimalField(_("学时"), max_digits=5, decimal_places=1)
    on = models.DateField(_("培训日期"))

    class Meta:
        verbose_name = _("培训记录")
        verbose_name_plural = _("培训记录")
        ordering = ["-on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(hours__gt=0, hours__lte=200), name="training_hours_0_to_200"),
        ]

    def __str__(self) -> str:
        return f"{self.on} {self.topic}"
