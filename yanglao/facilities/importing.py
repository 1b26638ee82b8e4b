"""Importing facilities from Excel/CSV (issue: the same row-level error workbook as the registry's).

Each row goes through facility_create or facility_update (core.rowimport), so a file is held to the
rules of the form and the API. A facility is matched by its region and name (unique together): a new
pair is created, a known one updated where a filled-in cell differs (a blank cell changes nothing), so
importing a file twice changes nothing the second time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from yanglao.accounts.scope import require_perm
from yanglao.accounts.selectors import organisation_by_credit_code
from yanglao.core import rowimport, sheets
from yanglao.core.errors import InvalidInput
from yanglao.core.permissions import Perm
from yanglao.facilities import services
from yanglao.facilities.enums import OperatingModel, ServiceCode
from yanglao.facilities.models import Facility, FacilityKind
from yanglao.regions import codes

HEADERS = {
    "设施名称": "name",
    "设施类别": "kind",
    "所在区域代码": "region",
    "地址": "address",
    "纬度": "latitude",
    "经度": "longitude",
    "建筑面积": "floor_area_m2",
    "床位数": "beds",
    "在住人数": "occupied_beds",
    "运营机构统一社会信用代码": "operator",
    "运营模式": "operating_model",
    "服务项目": "services",
    "开放时间": "opening_hours",
    "备案号": "filing_number",
    "备案日期": "filing_date",
    "等级": "grade",
    "评定日期": "grade_date",
    "长护险定点": "ltc_designated",
    "月收费下限": "monthly_fee_min",
    "月收费上限": "monthly_fee_max",
    "备注": "note",
}
REQUIRED = {"name", "kind", "region", "operating_model"}


def _apply(actor: Any, values: dict[str, Any]) -> str:
    facts = {name: value for name, value in values.items() if not rowimport.is_blank(value)}
    if "operator" in facts:
        facts["operator"] = organisation_by_credit_code(facts["operator"], field="operator", role="运营机构")
    if "region" in facts:
        facts["region"] = sheets.display(facts["region"])  # a code typed as a number: 120101001.0 → 120101001
    name, region = str(facts.get("name", "")).strip(), facts.get("region")
    existing = None
    if name and region:
        try:
            existing = Facility.objects.filter(
                region_id=codes.normalize(str(region), field="region"), name=name
            ).first()
        except InvalidInput:
            existing = None  # the service reports the bad code with its field
    if existing is None:
        services.facility_create(actor=actor, **facts)
        return "created"
    stamp = existing.updated_at
    saved = services.facility_update(actor=actor, facility=existing, **facts)
    return "unchanged" if saved.updated_at == stamp else "updated"


def facilities_import(
    *, actor: Any, path: str | Path, errors_path: str | Path | None = None, progress: Any = None
) -> rowimport.ImportResult:
    """Create or update facilities from a spreadsheet; rejected rows go to the error workbook."""
    if getattr(actor, "is_authenticated", False):
        require_perm(actor, Perm.FACILITIES_MANAGE)
    return rowimport.import_rows(
        path=path,
        headers=HEADERS,
        required=REQUIRED,
        apply_row=lambda values: _apply(actor, values),
        errors_path=errors_path,
        title="养老设施导入",
        progress=progress,
    )


def template_workbook() -> bytes:
    """The downloadable template: Chinese headers (required ones marked *) and the accepted values of
    the coded columns."""
    return rowimport.header_template(
        HEADERS,
        REQUIRED,
        sheet_name="养老设施",
        choices={
            "设施类别": "、".join(FacilityKind.objects.order_by("order").values_list("name", flat=True)),
            "运营模式": "、".join(str(label) for label in OperatingModel.labels),
            "服务项目": "、".join(str(label) for label in ServiceCode.labels) + "（多个用顿号分开）",
            "长护险定点": "是、否",
            "等级": "1～5 或 一级～五级",
        },
    )
