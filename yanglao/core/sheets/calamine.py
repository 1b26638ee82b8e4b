"""Reading a workbook with python-calamine: .xls and .ods, and any .xlsx/.xlsm the stream (xlsx.py)
leaves to it (not a zip, encrypted, laid out otherwise). calamine holds the whole sheet once it is
opened, which is why .xlsx is streamed first; its values are the reference the stream is tested
against."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import python_calamine

from yanglao.core.sheets.table import SheetError, Table, _blank_row


def _open_calamine(path: Path, **options: Any) -> Table:
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        visible = [
            m.name
            for m in workbook.sheets_metadata
            if m.visible == python_calamine.SheetVisibleEnum.Visible
            and m.typ == python_calamine.SheetTypeEnum.WorkSheet
        ]
        if not visible:
            raise SheetError("文件中没有可见的工作表", field="file")
        # calamine holds the sheet's cells (in Rust) once opened; rows become Python objects lazily.
        sheet = workbook.get_sheet_by_name(visible[0])
    except python_calamine.CalamineError as error:
        raise SheetError(
            f"无法读取文件：{error}（文件可能已损坏，或不是 Excel 文件）", field="file"
        ) from None
    except (OSError, ValueError) as error:
        raise SheetError(f"无法读取文件：{error}", field="file") from None
    rows = sheet.iter_rows()
    start_row = sheet.start[0] if sheet.start else 0
    total = max(0, sheet.height - 1)
    first = 1
    if start_row:
        # Depending on the version, calamine yields rows from the sheet's first row or from the first
        # row with data; the first row with data is never blank, so a blank first row means the former.
        head = next(rows, None)
        if head is not None:
            if _blank_row(head):
                first = 2
            else:
                first = start_row + 1
                rows = _prepend(head, rows)
    return Table(rows, first_row_number=first, total_rows=total, close=workbook.close, **options)


def _prepend(head: list[Any], rows: Iterator[list[Any]]) -> Iterator[list[Any]]:
    yield head
    yield from rows
