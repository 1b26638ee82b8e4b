"""Importing a spreadsheet row by row through a domain service, with the platform's one error workbook.

The registry's elder import is set-based for a million rows; facilities, care workers and the like are
thousands of rows whose rules live in their services, so each row goes through the service itself (the
same checks as the form and the API) in its own savepoint: a bad row leaves nothing half-written and
is reported with its row number, column, value and problem in the error workbook (core.sheets), and
the good rows are kept. A wrong header takes nothing from the file, since values would land in the
wrong facts.

    result = import_rows(
        path=path, headers={"设施名称": "name", …}, required={"name", …},
        labels={"name": "设施名称", …}, apply_row=lambda values: "created" | "updated" | "unchanged",
        errors_path="errors.xlsx", title="设施导入",
    )
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from yanglao.core import sheets
from yanglao.core.errors import DomainError
from yanglao.core.jobs import Progress
from yanglao.core.sheets import RowError

MAX_ERRORS_KEPT = 10_000  # in ImportResult.errors, for the page and the command; the workbook holds all
OUTCOMES = ("created", "updated", "unchanged")
IGNORED_HEADERS = ("序号", "编号（可空）")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # rows
    errors: list[RowError] = field(default_factory=list)  # the first MAX_ERRORS_KEPT problems
    error_count: int = 0  # problems (a row may have several)
    header_problems: list[RowError] = field(default_factory=list)
    errors_path: str | None = None

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }

    def summary(self) -> str:
        return f"新增 {self.created:,}，更新 {self.updated:,}，未变 {self.unchanged:,}，错误 {self.rejected:,} 行"


class Report:
    """Collects the rejected rows into the result and, when asked for, the error workbook."""

    def __init__(self, result: ImportResult, errors_path: str | Path | None, title: str) -> None:
        self.result = result
        self.book = sheets.ErrorWorkbook(errors_path, title=title) if errors_path else None

    def reject(self, problems: list[RowError]) -> None:
        self.result.rejected += 1
        for problem in problems:
            self.problem(problem)

    def problem(self, problem: RowError) -> None:
        self.result.error_count += 1
        if len(self.result.errors) < MAX_ERRORS_KEPT:
            self.result.errors.append(problem)
        if self.book is not None:
            self.book.add(problem)

    def close(self, file_name: str) -> None:
        if self.book is None:
            return
        r = self.result
        summary = {
            "文件": file_name,
            "新增": r.created,
            "更新": r.updated,
            "未变": r.unchanged,
            "错误行数": r.rejected,
        }
        self.result.errors_path = str(self.book.close(summary))


def run_import(
    *,
    path: str | Path,
    headers: Mapping[str, str],
    required: Collection[str],
    errors_path: str | Path | None,
    title: str,
    body: Callable[[sheets.Table, Report, Progress | None], None],
    progress: Progress | None = None,
    ignored: Collection[str] = IGNORED_HEADERS,
) -> ImportResult:
    """What every import shares: the header check, the error workbook and the progress bar's ending.
    `body` reads the table's rows and fills the report."""
    result = ImportResult()
    report = Report(result, errors_path, title)
    try:
        with sheets.open_table(path, headers, required=required, ignored=ignored) as table:
            if table.header_problems:
                result.header_problems = table.header_problems
                for problem in table.header_problems:
                    report.problem(problem)
                result.rejected = sum(len(batch) for batch in table.batches())
            else:
                body(table, report, progress)
    except DomainError as error:
        if progress:
            progress.fail(error.message)
        raise
    finally:
        report.close(Path(path).name)
    if progress:
        if result.header_problems:
            progress.finish("表头有误，未导入：" + result.header_problems[0].problem)
        else:
            progress.finish(result.summary())
    return result


def is_blank(value: Any) -> bool:
    """An empty cell: on an update it changes nothing."""
    return value is None or (isinstance(value, str) and not value.strip())


def row_errors(
    number: int, values: Mapping[str, Any], error: DomainError, labels: Mapping[str, str]
) -> list[RowError]:
    """A service's refusal as rows of the error workbook: one per named field (details), else one."""
    details = error.details if isinstance(error.details, list) and error.details else None
    if details is None:
        details = [{"field": error.field or "", "message": error.message}]
    found = []
    for detail in details:
        name = str(detail.get("field") or "").split(".")[0]
        found.append(
            RowError(number, labels.get(name, name), values.get(name, ""), str(detail.get("message", "")))
        )
    return found


def import_rows(
    *,
    path: str | Path,
    headers: Mapping[str, str],
    required: Collection[str],
    apply_row: Callable[[dict[str, Any]], str],
    errors_path: str | Path | None = None,
    title: str = "导入",
    progress: Progress | None = None,
    batch_size: int = 200,
) -> ImportResult:
    """Each row through `apply_row` (which calls the domain service and says "created", "updated" or
    "unchanged"), in its own savepoint; a DomainError rejects just that row."""
    labels = {field_name: header for header, field_name in headers.items()}

    def body(table: sheets.Table, report: Report, progress: Progress | None) -> None:
        result = report.result
        done = 0
        for batch in table.batches(batch_size):
            for number, values in batch:
                try:
                    with transaction.atomic():
                        outcome = apply_row(values)
                except DomainError as error:
                    report.reject(row_errors(number, values, error, labels))
                    continue
                if outcome not in OUTCOMES:
                    raise ValueError(f"apply_row returned {outcome!r}, not one of {OUTCOMES}")
                setattr(result, outcome, getattr(result, outcome) + 1)
            done += len(batch)
            if progress:
                total = max(table.total_rows or done, done, 1)
                progress.update(100 * done / total, f"已处理 {done:,} / {total:,} 行")

    return run_import(
        path=path,
        headers=headers,
        required=required,
        errors_path=errors_path,
        title=title,
        body=body,
        progress=progress,
    )


def header_template(
    headers: Mapping[str, str],
    required: Collection[str],
    *,
    sheet_name: str,
    choices: Mapping[str, str] | None = None,
) -> bytes:
    """A template workbook: the headers (required ones marked *) as text columns, and the accepted values
    of coded columns on a second sheet (可选值)."""
    import io

    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2"})
    text = book.add_format({"num_format": "@"})  # ID numbers, codes and phones must stay text
    sheet = book.add_worksheet(sheet_name)
    for column, (header, field_name) in enumerate(headers.items()):
        sheet.write_string(0, column, header + ("*" if field_name in required else ""), bold)
        sheet.set_column(column, column, 18, text)
    if choices:
        values = book.add_worksheet("可选值")
        values.write_row(0, 0, ("列", "可填"), bold)
        for row, (column, accepted) in enumerate(choices.items(), start=1):
            values.write_string(row, 0, column)
            values.write_string(row, 1, accepted)
        values.set_column(0, 0, 16)
        values.set_column(1, 1, 100)
    book.close()
    return buffer.getvalue()
