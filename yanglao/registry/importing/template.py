"""The elder import template: the columns with hints, instructions and the accepted values."""

from __future__ import annotations

import io
from typing import Any

import xlsxwriter

from yanglao.accounts.scope import is_person
from yanglao.regions import codes
from yanglao.regions.models import Level, Region
from yanglao.registry import validation
from yanglao.registry.enums import (
    DisabilityCategory,
    EconomicStatus,
    LivingArrangement,
    MaritalStatus,
)

# --- the template ----------------------------------------------------------------------------------
TEMPLATE_FILE_NAME = "老年人信息导入模板.xlsx"
_TEXT_COLUMNS = {"id_number", "phone", "residence_region", "hukou_region"}
_CHOICE_COLUMNS = {
    "living_arrangement": LivingArrangement,
    "economic_status": EconomicStatus,
    "marital_status": MaritalStatus,
    "disability_category": DisabilityCategory,
}
_YES_NO = {"special_family", "dementia"}
TEMPLATE_NOTES = [
    "第一行为列名，可调整列的顺序；带 * 的列必须填写，其余可留空。",
    "再次导入时按身份证号码更新已有档案：只修改填写了的内容，空白单元格不改动原有信息；同一文件导入两次不会重复登记。",
    "15位旧身份证号码将自动转换为18位；出生日期和性别由身份证号码得出。",
    "可增加“序号”列（导入时忽略）和“出生日期”“性别”列（须与身份证号码一致）；其他列名将被视为错误。",
    "有错误的行不导入，其余行照常导入；导入完成后可下载错误工作簿，改正后只需重新导入这些行。",
]


def template_workbook(actor: Any) -> bytes:
    """The import template: the columns of validation.COLUMNS with hints, instructions, the valid
    options of each enumeration and the community codes of the actor's region."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    required = book.add_format({"bold": True, "bg_color": "#FDE9D9", "border": 1, "font_color": "#C00000"})
    as_text = book.add_format({"num_format": "@"})
    sheet = book.add_worksheet("老年人信息")
    sheet.freeze_panes(1, 0)
    for index, column in enumerate(validation.COLUMNS):
        header_format = required if column.required else bold
        sheet.write_string(0, index, column.header, header_format)
        sheet.set_column(
            index,
            index,
            22 if column.field in _TEXT_COLUMNS | {"address"} else 14,
            as_text if column.field in _TEXT_COLUMNS else None,
        )
        hint = ("必填。" if column.required else "") + (column.hint or "")
        if hint:
            sheet.write_comment(0, index, hint, {"x_scale": 1.6})
        if column.field in _CHOICE_COLUMNS:
            labels = [str(c.label) for c in _CHOICE_COLUMNS[column.field] if c.value]
            sheet.data_validation(1, index, 100_000, index, {"validate": "list", "source": labels})
        elif column.field in _YES_NO:
            sheet.data_validation(1, index, 100_000, index, {"validate": "list", "source": ["是", "否"]})

    notes = book.add_worksheet("填写说明")
    notes.set_column(0, 0, 18)
    notes.set_column(1, 1, 10)
    notes.set_column(2, 2, 80)
    notes.write_row(0, 0, ("列名", "是否必填", "填写说明"), bold)
    for row, column in enumerate(validation.COLUMNS, 1):
        notes.write_row(row, 0, (column.header, "必填" if column.required else "选填", column.hint))
    row = len(validation.COLUMNS) + 2
    for note in TEMPLATE_NOTES:
        notes.write_string(row, 0, note)
        row += 1

    choices = book.add_worksheet("代码表")
    choices.set_column(0, 2, 22)
    choices.write_row(0, 0, ("列名", "可填写（中文）", "或填写代码"), bold)
    row = 1
    for column in validation.COLUMNS:
        if column.field in _CHOICE_COLUMNS:
            for choice in _CHOICE_COLUMNS[column.field]:
                if choice.value:
                    choices.write_row(row, 0, (column.header, str(choice.label), choice.value))
                    row += 1
        elif column.field in _YES_NO:
            choices.write_row(row, 0, (column.header, "是 / 否", "1 / 0"))
            row += 1

    communities = book.add_worksheet("社区代码")
    communities.set_column(0, 0, 16, as_text)
    communities.set_column(1, 3, 24)
    communities.write_row(0, 0, ("社区（村）代码", "名称", "街道（乡镇）", "区（县）"), bold)
    regions = Region.objects.filter(level=Level.COMMUNITY).select_related("parent", "parent__parent")
    if is_person(actor) and not actor.is_superuser:
        regions = regions.filter(codes.within(actor.region_id)) if actor.region_id else regions.none()
    for row, region in enumerate(regions.order_by("code").iterator(chunk_size=2000), 1):
        street = region.parent
        district = street.parent if street else None
        communities.write_row(
            row,
            0,
            (region.code, region.name, street.name if street else "", district.name if district else ""),
        )
    book.close()
    return buffer.getvalue()
