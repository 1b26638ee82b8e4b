"""ErrorWorkbook: the row-level problems of an import written as an .xlsx a clerk fixes the file from
(行号 / 列 / 值 / 问题, and a 汇总 sheet), streaming with XlsxWriter so memory stays constant. It writes
where the rest of the package reads, so it stands on its own; every app's import hands back the same
workbook."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import xlsxwriter

from yanglao.core.sheets.table import RowError, display

ERROR_COLUMNS = ("行号", "列", "值", "问题")


class ErrorWorkbook:
    """The row-level problems of an import as an .xlsx a clerk fixes the file from.

    Written as it goes (XlsxWriter constant_memory), so a file whose every row is wrong still costs
    little memory; rows must be added in order, which an import does anyway."""

    def __init__(self, path: str | Path, *, title: str = "导入错误") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self._book = xlsxwriter.Workbook(
            str(self.path), {"constant_memory": True, "strings_to_numbers": False}
        )
        self._bold = self._book.add_format({"bold": True, "bg_color": "#F2F2F2"})
        self._errors = self._book.add_worksheet("错误明细")
        self._summary = self._book.add_worksheet("汇总")
        self._errors.set_column(0, 0, 8)
        self._errors.set_column(1, 1, 16)
        self._errors.set_column(2, 2, 24)
        self._errors.set_column(3, 3, 70)
        self._errors.freeze_panes(1, 0)
        self._errors.write_row(0, 0, ERROR_COLUMNS, self._bold)
        self._summary.set_column(0, 0, 18)
        self._summary.set_column(1, 1, 40)
        self._title = title

    def add(self, error: RowError) -> None:
        self.count += 1
        row = self.count
        self._errors.write_number(row, 0, error.row)
        # Strings throughout: an ID number written as a number would lose its last digits in Excel.
        self._errors.write_string(row, 1, error.column)
        self._errors.write_string(row, 2, display(error.value))
        self._errors.write_string(row, 3, error.problem)

    def close(self, summary: Mapping[str, Any] | None = None) -> Path:
        """Finish the file; `summary` (label → value) fills the 汇总 sheet."""
        if self.count:
            self._errors.autofilter(0, 0, self.count, len(ERROR_COLUMNS) - 1)
        self._summary.write_row(0, 0, ("项目", self._title), self._bold)
        for index, (label, value) in enumerate({**(summary or {}), "错误条数": self.count}.items(), 1):
            self._summary.write_string(index, 0, str(label))
            if isinstance(value, int | float) and not isinstance(value, bool):
                self._summary.write_number(index, 1, value)
            else:
                self._summary.write_string(index, 1, display(value))
        self._book.close()
        return self.path
