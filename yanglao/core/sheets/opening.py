"""open_table, and which reader a file goes to by its suffix: .xlsx/.xlsm to the stream (xlsx.py),
or to python-calamine (calamine.py) when the stream cannot read the workbook; .xls/.ods to
python-calamine; .csv to csvfile.py. It sits above the readers, which build their Tables from
table.py, so no module imports one that imports it back."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from yanglao.core.sheets.calamine import _open_calamine
from yanglao.core.sheets.csvfile import _open_csv
from yanglao.core.sheets.table import SheetError, Table
from yanglao.core.sheets.xlsx import _open_xlsx

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
STREAMED_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv",)
SUFFIXES = EXCEL_SUFFIXES + CSV_SUFFIXES


def open_table(
    path: str | Path,
    headers: Mapping[str, str],
    *,
    required: Collection[str] = (),
    ignored: Collection[str] = (),
) -> Table:
    """Open the first visible worksheet of an Excel/ODS file, or a CSV file, as a Table.

    `headers` maps each accepted header to its field, `required` names the fields that must have a
    column, `ignored` lists headers that are accepted and skipped (such as 序号)."""
    path = Path(path)
    suffix = path.suffix.lower()
    options = {"headers": headers, "required": required, "ignored": ignored}
    if suffix in EXCEL_SUFFIXES:
        return _open_excel(path, **options)
    if suffix in CSV_SUFFIXES:
        return _open_csv(path, **options)
    raise SheetError(
        f"不支持的文件类型“{suffix or path.name}”：请上传 Excel（.xlsx、.xls）或 CSV 文件", field="file"
    )


def _open_excel(path: Path, **options: Any) -> Table:
    if path.suffix.lower() in STREAMED_SUFFIXES:
        table = _open_xlsx(path, **options)
        if table is not None:
            return table
    return _open_calamine(path, **options)
