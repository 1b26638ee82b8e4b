"""Enumerations of facilities (DOMAIN.md §4). Stable codes in the database and the API, Chinese labels
on screens (the services accept either). The facility kinds themselves are data (models.FacilityKind,
loaded from kinds.yaml), not an enumeration: a deployment may change their rules without a release."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class KindLevel(models.TextChoices):
    """The administrative level a kind of facility usually serves (四级: 区、街道、社区、村)."""

    DISTRICT = "district", _("区级")
    STREET = "street", _("街道（乡镇）级")
    COMMUNITY = "community", _("社区级")
    VILLAGE = "village", _("村级")


# The shortest division code a facility of each level may be registered at: a day-care centre lies in
# a community (12 digits), a street centre in a street or one of its communities (9 or 12), a district
# centre anywhere in its district (6, 9 or 12). Also the part of its region a facility serves.
LEVEL_CODE_LENGTH = {
    KindLevel.DISTRICT: 6,
    KindLevel.STREET: 9,
    KindLevel.COMMUNITY: 12,
    KindLevel.VILLAGE: 12,
}


class OperatingModel(models.TextChoices):
    PUBLIC_PUBLIC = "public_public", _("公办公营")
    PUBLIC_PRIVATE = "public_private", _("公建民营")
    PRIVATE_SUBSIDISED = "private_subsidised", _("民办公助")
    PRIVATE = "private", _("民办")


# Models in which a non-government operator runs the facility: the operator must be named, and it may
# not be a government department (that would be 公办公营).
PRIVATELY_RUN = frozenset(
    {OperatingModel.PUBLIC_PRIVATE, OperatingModel.PRIVATE_SUBSIDISED, OperatingModel.PRIVATE}
)


class ServiceCode(models.TextChoices):
    """The service catalogue of DOMAIN.md §5; a facility lists the ones it offers."""

    MEALS = "meals", _("助餐")
    BATHING = "bathing", _("助浴")
    CLEANING = "cleaning", _("助洁")
    MEDICAL = "medical", _("助医")
    MOBILITY = "mobility", _("助行")
    SHOPPING = "shopping", _("代购")
    DAY_CARE = "day_care", _("日托")
    PERSONAL_CARE = "personal_care", _("生活照料")
    REHABILITATION = "rehabilitation", _("康复护理")
    ESCORT = "escort", _("陪诊")
    COMPANIONSHIP = "companionship", _("精神慰藉")
    REPAIR = "repair", _("家政维修")


class Status(models.TextChoices):
    OPERATING = "operating", _("运营中")
    SUSPENDED = "suspended", _("暂停")
    CLOSED = "closed", _("已关闭")


# GB/T 37276-2018 养老机构等级划分与评定: five grades, 一级 (lowest) to 五级 (highest).
GRADES = [(1, _("一级")), (2, _("二级")), (3, _("三级")), (4, _("四级")), (5, _("五级"))]
