"""Enumerations of the registry (DOMAIN.md §1). Stable codes in the database and the API, Chinese
labels on screens and in spreadsheets (the import accepts either)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Sex(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


class Status(models.TextChoices):
    ACTIVE = "active", _("在册")
    DECEASED = "deceased", _("已故")
    MOVED_OUT = "moved_out", _("已迁出")
    IN_INSTITUTION = "in_institution", _("入住机构")
    IN_HOSPITAL = "in_hospital", _("住院")


class LivingArrangement(models.TextChoices):
    ALONE = "alone", _("独居")
    EMPTY_NEST = "empty_nest", _("空巢")
    LEFT_BEHIND = "left_behind", _("留守")
    WITH_FAMILY = "with_family", _("与家人同住")


class EconomicStatus(models.TextChoices):
    DESTITUTE = "destitute", _("特困")
    SUBSISTENCE = "subsistence", _("低保")
    NEAR_SUBSISTENCE = "near_subsistence", _("低保边缘")
    LOW_INCOME = "low_income", _("低收入")
    GENERAL = "general", _("一般")


class MaritalStatus(models.TextChoices):
    MARRIED = "married", _("有配偶")
    WIDOWED = "widowed", _("丧偶")
    DIVORCED = "divorced", _("离婚")
    UNMARRIED = "unmarried", _("未婚")


class DisabilityCategory(models.TextChoices):
    """GB/T 26341-2010 categories of the disability certificate (残疾人证)."""

    VISUAL = "visual", _("视力残疾")
    HEARING = "hearing", _("听力残疾")
    SPEECH = "speech", _("言语残疾")
    PHYSICAL = "physical", _("肢体残疾")
    INTELLECTUAL = "intellectual", _("智力残疾")
    MENTAL = "mental", _("精神残疾")
    MULTIPLE = "multiple", _("多重残疾")


class Relation(models.TextChoices):
    SPOUSE = "spouse", _("配偶")
    SON = "son", _("儿子")
    DAUGHTER = "daughter", _("女儿")
    SON_IN_LAW = "son_in_law", _("女婿")
    DAUGHTER_IN_LAW = "daughter_in_law", _("儿媳")
    GRANDCHILD = "grandchild", _("孙子女/外孙子女")
    SIBLING = "sibling", _("兄弟姐妹")
    RELATIVE = "relative", _("其他亲属")
    NEIGHBOUR = "neighbour", _("邻居")
    FRIEND = "friend", _("朋友")
    OTHER = "other", _("其他")


class GuardianKind(models.TextChoices):
    NONE = "", _("非监护人")
    LEGAL = "legal", _("法定监护人")
    VOLUNTARY = "voluntary", _("意定监护人")


class EventKind(models.TextChoices):
    DEATH = "death", _("死亡")
    HOSPITAL_ADMISSION = "hospital_admission", _("住院")
    HOSPITAL_DISCHARGE = "hospital_discharge", _("出院")
    INSTITUTION_ADMISSION = "institution_admission", _("入住养老机构")
    INSTITUTION_DISCHARGE = "institution_discharge", _("离开养老机构")
    MOVE_WITHIN = "move_within", _("市内迁居")
    MOVE_OUT = "move_out", _("迁出本市")
    CORRECTION = "correction", _("更正（撤销事件）")


class EventSource(models.TextChoices):
    FORM = "form", _("页面录入")
    API = "api", _("接口")
    FILE = "file", _("部门数据文件")
