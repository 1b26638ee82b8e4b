"""Reading tables from spreadsheets, and the row-level error workbook, for every app's imports.

    with sheets.open_table(path, {"姓名": "name", "身份证号码": "id_number"}, required={"name"}) as table:
        if table.header_problems: ...            # RowErrors for row 1; import nothing
        for batch in table.batches(5000):       # lists of (row number as Excel shows it, {field: value})
            ...

- .xlsx/.xlsm/.xls/.ods are read with python-calamine; .csv as UTF-8 (with or without BOM), else as
  GB18030, which is what Excel on a Chinese Windows writes as "CSV".
- Headers are matched by name in any order, after NFKC (full-width → half-width) and removing spaces
  and the "*" that templates put on required columns. The header row is the first row, among the
  first few, that names a known column (a title row above the table is common in government sheets).
  An unknown or repeated header, or a missing required one, is a header problem: a mistyped column is
  reported, never silently dropped.
- Values pass through as read: numbers stay numbers (an Excel serial date too; the app's cleaner
  knows what a number means in its date column), empty cells are "". Blank rows are skipped.
- ErrorWorkbook writes 行号 / 列 / 值 / 问题 plus a summary sheet, streaming (constant memory), so any
  app's import hands back the same workbook.

Knows nothing of any domain: the app gives the header → field map and cleans the values.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import python_calamine
import xlsxwriter

from yanglao.core.errors import InvalidInput

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
CSV_SUFFIXES = (".csv",)
SUFFIXES = EXCEL_SUFFIXES + CSV_SUFFIXES
HEADER_SEARCH_ROWS = 10
ERROR_COLUMNS = ("行号", "列", "值", "问题")
_HEADER_NOISE = re.compile(r"[\s*]+")


class SheetError(InvalidInput):
    """The file cannot be read as a table (wrong type, damaged, unknown encoding)."""


@dataclass(frozen=True)
class RowError:
    """One problem of one row, as the error workbook shows it. Row 1 (or the header row) for header
    problems; `column` is the column's header."""

    row: int
    column: str
    value: Any
    problem: str


def normalize_header(raw: Any) -> str:
    """姓 名 / 姓名* / ＊姓名 → 姓名."""
    if raw is None:
        return ""
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", str(raw)))


def display(value: Any) -> str:
    """A cell value as the clerk typed it, for the error workbook (1.0 → 1, dates in ISO form)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _blank_row(row: list[Any]) -> bool:
    return all(_is_blank(value) for value in row)


class Table:
    """An open sheet: the matched header and the data rows after it, read lazily."""

    def __init__(
        self,
        rows: Iterator[list[Any]],
        *,
        headers: Mapping[str, str],
        required: Collection[str],
        ignored: Collection[str],
        first_row_number: int,
        total_rows: int | None,
        close: Any = None,
    ) -> None:
        self._rows = rows
        self._close = close
        self.total_rows = total_rows  # data rows, for progress; CSV: an estimate (quoted newlines)
        self.columns: list[tuple[int, str]] = []  # (cell index, field)
        self.header_problems: list[RowError] = []
        self.header_row = 0
        self._next_row_number = first_row_number
        self._match(headers, set(required), {normalize_header(h) for h in ignored})

    # --- header -----------------------------------------------------------------------------------
    def _match(self, headers: Mapping[str, str], required: set[str], ignored: set[str]) -> None:
        known = {normalize_header(h): field for h, field in headers.items()}
        label = {field: header for header, field in headers.items()}
        order = {field: index for index, field in enumerate(headers.values())}
        # Look for the header among the first rows; the rows read past it are data and go back.
        read: list[list[Any]] = []
        chosen: int | None = None
        for row in self._rows:
            read.append(row)
            if any(normalize_header(cell) in known for cell in row):
                chosen = len(read) - 1
                break
            if len(read) >= HEADER_SEARCH_ROWS:
                break
        if chosen is None:  # no known name anywhere: report the first non-blank row's names
            chosen = next((i for i, row in enumerate(read) if not _blank_row(row)), None)
        if chosen is None:
            self.header_problems.append(RowError(1, "", "", "文件中没有数据（第一行应为列名）"))
            return
        header_cells = read[chosen]
        self.header_row = self._next_row_number + chosen
        self._next_row_number = self.header_row + 1
        self._rows = itertools.chain(read[chosen + 1 :], self._rows)
        seen: set[str] = set()
        for index, cell in enumerate(header_cells):
            name = normalize_header(cell)
            if not name or name in ignored:
                continue
            field = known.get(name)
            shown = display(cell).strip()
            if field is None:
                self.header_problems.append(
                    RowError(
                        self.header_row, shown, shown, f"未知的列名“{shown}”：请使用模板中的列名，或删除该列"
                    )
                )
            elif field in seen:
                self.header_problems.append(
                    RowError(self.header_row, label[field], shown, f"列名“{label[field]}”重复")
                )
            else:
                seen.add(field)
                self.columns.append((index, field))
        for field in sorted(required - seen, key=order.__getitem__):
            self.header_problems.append(
                RowError(self.header_row, label[field], "", f"缺少必填列“{label[field]}”")
            )

    # --- rows -------------------------------------------------------------------------------------
    @property
    def fields(self) -> list[str]:
        return [field for _, field in self.columns]

    def batches(self, size: int = 5000) -> Iterator[list[tuple[int, dict[str, Any]]]]:
        """Data rows after the header, as (row number, {field: value}); blank rows are skipped."""
        columns = self.columns
        batch: list[tuple[int, dict[str, Any]]] = []
        number = self._next_row_number
        for row in self._rows:
            width = len(row)
            if not _blank_row(row):
                batch.append((number, {f: row[i] if i < width else "" for i, f in columns}))
                if len(batch) >= size:
                    yield batch
                    batch = []
            number += 1
        self._next_row_number = number
        if batch:
            yield batch

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


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


def _csv_encoding(path: Path) -> tuple[str, int]:
    """UTF-8 (BOM or not) if the whole file decodes as UTF-8, else GB18030; and the line count."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    utf8 = True
    with path.open("rb") as handle:
        head = handle.read(3)
        handle.seek(0)
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    if utf8:
        return ("utf-8-sig" if head == codecs.BOM_UTF8 else "utf-8"), lines
    return "gb18030", lines


def _open_csv(path: Path, **options: Any) -> Table:
    try:
        encoding, lines = _csv_encoding(path)
        handle = path.open(encoding=encoding, newline="")
        sample = handle.readline()
        handle.seek(0)
    except (OSError, UnicodeDecodeError) as error:
        raise SheetError(
            f"无法读取文件：{error}（请另存为 UTF-8 或 GB18030 编码的 CSV，或 Excel 文件）", field="file"
        ) from None
    delimiter = max(",\t;", key=sample.count)
    rows = _decoded_rows(csv.reader(handle, delimiter=delimiter), path)
    return Table(rows, first_row_number=1, total_rows=max(0, lines - 1), close=handle.close, **options)


def _decoded_rows(reader: Iterator[list[str]], path: Path) -> Iterator[list[Any]]:
    try:
        yield from reader
    except (UnicodeDecodeError, csv.Error) as error:
        raise SheetError(f"文件 {path.name} 无法按 CSV 读取：{error}", field="file") from None


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
