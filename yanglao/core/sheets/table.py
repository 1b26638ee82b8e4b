"""The Table every reader hands back, and what an import reports about a file: the header matched
by name (after NFKC, without spaces and the "*" of required columns, found among the first rows), the
data rows read lazily one at a time or in batches, RowError (one problem of one row) and SheetError
(the file cannot be read). It imports no reader, so that every reader can build on it."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from yanglao.core.errors import InvalidInput

HEADER_SEARCH_ROWS = 10
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

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Data rows after the header, one at a time, as (row number, {field: value}); blank rows are
        skipped. A caller that keeps less than the whole row holds only that while it reads on."""
        columns = self.columns
        number = self._next_row_number
        for row in self._rows:
            if not _blank_row(row):
                width = len(row)
                yield number, {f: row[i] if i < width else "" for i, f in columns}
            number += 1
        self._next_row_number = number

    def batches(self, size: int = 5000) -> Iterator[list[tuple[int, dict[str, Any]]]]:
        """The same rows in lists of `size` (the last one shorter)."""
        batch: list[tuple[int, dict[str, Any]]] = []
        for item in self.rows():
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
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
