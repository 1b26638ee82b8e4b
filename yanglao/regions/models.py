"""Administrative divisions (行政区划) with their national statistical codes.

The code is the primary key and is itself the materialised path: a division's code starts with its
parent's (12 → 1201 → 120101 → 120101001 → 120101001001), so "everything under 1201" is the range
[1201, 1202) on an indexed column, with no join and no recursive query (see `selectors.code_range`).
Codes are stored in their natural length (2, 4, 6, 9 or 12 digits); a 12-digit code padded with zeros
(120101000000) is accepted wherever a code is read and shortened to its natural form.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    PROVINCE = "province", _("省级")
    CITY = "city", _("市级")
    DISTRICT = "district", _("区县")
    STREET = "street", _("街道乡镇")
    COMMUNITY = "community", _("社区村")


# Code length for each level, by the national scheme 2 + 2 + 2 + 3 + 3.
LEVEL_BY_LENGTH = {2: Level.PROVINCE, 4: Level.CITY, 6: Level.DISTRICT, 9: Level.STREET, 12: Level.COMMUNITY}


class Region(models.Model):
    code = models.CharField(_("区划代码"), max_length=12, primary_key=True)
    name = models.CharField(_("名称"), max_length=100, db_index=True)
    level = models.CharField(_("层级"), max_length=10, choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    latitude = models.FloatField(_("中心纬度"), null=True, blank=True)
    longitude = models.FloatField(_("中心经度"), null=True, blank=True)

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def padded_code(self) -> str:
        """The 12-digit form used in national data exchange."""
        return self.code.ljust(12, "0")

    @property
    def ancestor_codes(self) -> list[str]:
        return [self.code[:n] for n in (2, 4, 6, 9) if n < len(self.code)]
