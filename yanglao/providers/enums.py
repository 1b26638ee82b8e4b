"""Enumerations of providers, care workers and the service catalogue (DOMAIN.md §4, §5). Stable codes in
the database and the API, Chinese labels on screens."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LegalForm(models.TextChoices):
    ENTERPRISE = "enterprise", _("企业")
    SOCIAL_ORG = "social_org", _("社会组织")
    PUBLIC_UNIT = "public_unit", _("事业单位")


class ProviderStatus(models.TextChoices):
    ACTIVE = "active", _("正常")
    SUSPENDED = "suspended", _("暂停")
    TERMINATED = "terminated", _("终止合作")


class WorkerStatus(models.TextChoices):
    ACTIVE = "active", _("在岗")
    SUSPENDED = "suspended", _("停岗")
    LEFT = "left", _("离职")


class CertificateGrade(models.TextChoices):
    """养老护理员 vocational skill levels (国家职业技能标准 养老护理员, 2019 edition: five levels)."""

    JUNIOR = "junior", _("初级")
    INTERMEDIATE = "intermediate", _("中级")
    SENIOR = "senior", _("高级")
    TECHNICIAN = "technician", _("技师")
    SENIOR_TECHNICIAN = "senior_technician", _("高级技师")


class Unit(models.TextChoices):
    """What one unit of a catalogue item is: the quantity an order counts and a price refers to."""

    VISIT = "visit", _("次")
    HOUR = "hour", _("小时")
    MEAL = "meal", _("餐")
    DAY = "day", _("天")
    MONTH = "month", _("月")


class DocumentKind(models.TextChoices):
    """Documents of a care worker that expire and are warned about."""

    HEALTH = "health", _("健康证")
    CERTIFICATE = "certificate", _("职业技能等级证书")
