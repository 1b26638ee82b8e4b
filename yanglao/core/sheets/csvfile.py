"""Reading a .csv as a Table: UTF-8 (with or without BOM) if the whole file decodes as UTF-8, else
GB18030, which is what Excel on a Chinese Windows writes as "CSV"; the delimiter (comma, tab or
semicolon) is the one the first line has most of. Apart from the Excel readers because a text file
has an encoding to find, and a workbook does not."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from yanglao.core.sheets.table import SheetError, Table


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
