"""Elders, households, contacts and life events (DOMAIN.md §1).

Facts are stored; groups are derived (registry/groups.py turns each group into a SQL condition), so
nobody types "高龄" or "孤寡" and nothing drifts out of date. Birth date and sex are facts read from the
ID number when the record is written, stored so that age bands are index range scans.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yanglao.core import idcard, pii
from yanglao.core.fields import EncryptedTextField, LookupHashField
from yanglao.core.models import TimeStampedModel
from yanglao.registry.enums import (
    DisabilityCategory,
    EconomicStatus,
    EventKind,
    EventSource,
    GuardianKind,
    LivingArrangement,
    MaritalStatus,
    Relation,
    Sex,
    Status,
)


class Household(TimeStampedModel):
    """People living together at one address (the unit of home adaptation, family care beds, visits)."""

    region = models.ForeignKey(
        "regions.Region", verbose_name=_("所在社区"), on_delete=models.PROTECT, related_name="+"
    )
    address = models.CharField(_("住址"), max_length=200, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("家庭户")
        verbose_name_plural = _("家庭户")

    def __str__(self) -> str:
        return self.address or f"家庭户 #{self.pk}"


class Elder(TimeStampedModel):
    name = models.CharField(_("姓名"), max_length=50, db_index=True)
    id_number = EncryptedTextField(_("身份证号码"), normalize=idcard.normalize)
    id_number_hash = LookupHashField(source="id_number", unique=True)
    birth_date = models.DateField(_("出生日期"), db_index=True)
    sex = models.CharField(_("性别"), max_length=6, choices=Sex.choices)
    phone = EncryptedTextField(_("手机号码"), blank=True, normalize=pii.normalize_phone)
    phone_hash = LookupHashField(source="phone")

    residence_region = models.ForeignKey(
        "regions.Region", verbose_name=_("现居住社区"), on_delete=models.PROTECT, related_name="+"
    )
    hukou_region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("户籍社区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    address = models.CharField(_("现居住地址"), max_length=200, blank=True)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    household = models.ForeignKey(
        Household,
        verbose_name=_("家庭户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )

    living_arrangement = models.CharField(
        _("居住状况"), max_length=12, choices=LivingArrangement.choices, default=LivingArrangement.WITH_FAMILY
    )
    economic_status = models.CharField(
        _("经济状况"), max_length=18, choices=EconomicStatus.choices, default=EconomicStatus.GENERAL
    )
    marital_status = models.CharField(_("婚姻状况"), max_length=10, choices=MaritalStatus.choices, blank=True)
    children_count = models.PositiveSmallIntegerField(_("子女数"), null=True, blank=True)
    special_family = models.BooleanField(_("计划生育特殊家庭"), default=False)
    disability_category = models.CharField(
        _("残疾类别"), max_length=12, choices=DisabilityCategory.choices, blank=True
    )
    disability_grade = models.PositiveSmallIntegerField(_("残疾等级"), null=True, blank=True)
    dementia = models.BooleanField(_("认知障碍（失智）"), default=False)
    family_doctor = models.CharField(_("家庭医生"), max_length=100, blank=True)

    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    status_since = models.DateField(_("状态起始日期"), null=True, blank=True)
    death_date = models.DateField(_("死亡日期"), null=True, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("老年人")
        verbose_name_plural = _("老年人")
        indexes = [
            models.Index(fields=["residence_region", "status"]),
            models.Index(fields=["residence_region", "birth_date"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(disability_grade__isnull=True)
                | models.Q(disability_grade__gte=1, disability_grade__lte=4),
                name="elder_disability_grade_1_to_4",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_id_number(self) -> str:
        return pii.mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return pii.mask_phone(self.phone)


class Contact(TimeStampedModel):
    """A family member, neighbour or guardian to call; guardians are legal (法定) or voluntary (意定)."""

    elder = models.ForeignKey(
        Elder, verbose_name=_("老年人"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("姓名"), max_length=50)
    relation = models.CharField(_("关系"), max_length=20, choices=Relation.choices)
    phone = EncryptedTextField(_("电话"), normalize=pii.normalize_phone)
    phone_hash = LookupHashField(source="phone")
    guardian = models.CharField(
        _("监护关系"), max_length=10, choices=GuardianKind.choices, blank=True, default=""
    )
    is_emergency = models.BooleanField(_("紧急联系人"), default=False)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("联系人")
        verbose_name_plural = _("联系人")
        ordering = ["-is_emergency", "id"]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_relation_display()}）"

    @property
    def masked_phone(self) -> str:
        return pii.mask_phone(self.phone)


class LifeEvent(TimeStampedModel):
    """A death, hospital stay, move or institution stay reported for an elder, and what it changed.

    The elder's status and residence before the event are kept, so a correction can put them back."""

    elder = models.ForeignKey(
        Elder, verbose_name=_("老年人"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("事件类型"), max_length=24, choices=EventKind.choices)
    on = models.DateField(_("发生日期"))
    note = models.CharField(_("备注"), max_length=300, blank=True)
    source = models.CharField(_("来源"), max_length=8, choices=EventSource.choices, default=EventSource.FORM)
    new_region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("迁入社区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("撤销的事件"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
    )
    status_before = models.CharField(max_length=16, choices=Status.choices)
    status_since_before = models.DateField(null=True, blank=True)
    region_before = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("生活事件")
        verbose_name_plural = _("生活事件")
        ordering = ["-on", "-id"]

    def __str__(self) -> str:
        return f"{self.elder} {self.get_kind_display()} {self.on}"

    @property
    def is_reversed(self) -> bool:
        return hasattr(self, "reversed_by")


from yanglao.registry.models_import import ImportRun  # noqa: E402,F401
