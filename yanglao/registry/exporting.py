"""Export of a filtered elder list to Excel: masked for the role, stamped with who exported it and
when, and audited with the filters and the row count."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from typing import Any

import xlsxwriter
from django.db import transaction
from django.utils import timezone

from yanglao.accounts.scope import require_perm
from yanglao.core import audit, pii
from yanglao.core.permissions import Perm
from yanglao.registry import groups
from yanglao.registry.enums import EconomicStatus, LivingArrangement, Sex, Status
from yanglao.registry.selectors import ElderFilter, elder_list

HEADERS = [
    "姓名",
    "性别",
    "出生日期",
    "年龄",
    "年龄段",
    "身份证号码",
    "手机号码",
    "现居住社区",
    "社区代码",
    "现居住地址",
    "居住状况",
    "经济状况",
    "状态",
]


@transaction.atomic
def elders_export(*, actor: Any, filters: ElderFilter, unmasked: bool = False) -> tuple[str, int]:
    """Write the filtered list to an xlsx file; returns (path, rows). Unmasked numbers need pii.view."""
    require_perm(actor, Perm.ELDERS_EXPORT)
    if unmasked:
        require_perm(actor, Perm.PII_VIEW)
    today = timezone.localdate()
    queryset = elder_list(actor, filters, today=today)
    handle = tempfile.NamedTemporaryFile(prefix="elders-", suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    book = xlsxwriter.Workbook(handle.name, {"constant_memory": True})
    sheet = book.add_worksheet("老年人名单")
    bold = book.add_format({"bold": True})
    stamp = (
        f"导出人：{actor.full_name or actor.get_username()}（{actor.get_username()}）  "
        f"导出时间：{timezone.localtime():%Y-%m-%d %H:%M:%S}  "
        f"{'含完整身份证号与电话，请妥善保管' if unmasked else '身份证号与电话已脱敏'}"
    )
    sheet.write_string(0, 0, stamp, bold)
    sheet.write_row(1, 0, HEADERS, bold)
    labels = {
        "sex": dict(Sex.choices),
        "living": dict(LivingArrangement.choices),
        "economic": dict(EconomicStatus.choices),
        "status": dict(Status.choices),
        "band": {g.code: str(g.label) for g in groups.AGE_BANDS},
    }
    rows = 0
    for elder in queryset.iterator(chunk_size=2000):
        id_number = elder.id_number if unmasked else pii.mask_id_number(elder.id_number)
        phone = elder.phone if unmasked else pii.mask_phone(elder.phone)
        sheet.write_row(
            rows + 2,
            0,
            [
                elder.name,
                str(labels["sex"].get(elder.sex, "")),
                elder.birth_date.isoformat(),
                groups.age_on(elder.birth_date, today),
                labels["band"].get(groups.age_band_of(elder.birth_date, today), ""),
                id_number,
                phone,
                elder.residence_region.name,
                elder.residence_region_id,
                elder.address,
                str(labels["living"].get(elder.living_arrangement, "")),
                str(labels["economic"].get(elder.economic_status, "")),
                str(labels["status"].get(elder.status, "")),
            ],
        )
        rows += 1
    book.close()
    audit.record(
        actor,
        "elder.export",
        object_type="registry.elder",
        region_code=actor.region_id or "",
        after={"rows": rows, "unmasked": unmasked, "filters": asdict(filters)},
    )
    return handle.name, rows
