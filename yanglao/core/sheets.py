"""Reading tables from spreadsheets, and the row-level error workbook, for every app's imports.

    with sheets.open_table(path, {"姓名": "name", "身份证号码": "id_number"}, required={"name"}) as table:
        if table.header_problems: ...            # RowErrors for row 1; import nothing
        for batch in table.batches(5000):       # lists of (row number as Excel shows it, {field: value})
            ...
        for number, values in table.rows():    # or one row at a time

- .xlsx/.xlsm are streamed (zipfile, expat and a checked fast path, below): memory stays flat whatever
  the sheet's size (bar a shared-strings table, kept compact), where python-calamine would hold the
  whole sheet (~320 MB for 200,000 rows × 20 columns). A workbook the stream does not understand (not
  a zip, encrypted, no worksheet where expected) falls back to python-calamine, which also reads
  .xls/.ods. Values are those python-calamine gives (it is the reference in the tests). A sheet
  damaged part-way raises SheetError when the reading gets there, after the rows before the damage
  have been handed on.
- .csv is read as UTF-8 (with or without BOM), else as GB18030, which is what Excel on a Chinese
  Windows writes as "CSV".
- Headers are matched by name in any order, after NFKC (full-width → half-width) and removing spaces
  and the "*" that templates put on required columns. The header row is the first row, among the
  first few, that names a known column (a title row above the table is common in government sheets).
  An unknown or repeated header, or a missing required one, is a header problem: a mistyped column is
  reported, never silently dropped.
- Values pass through as read: numbers are floats, text str, TRUE/FALSE bool, empty and error cells
  "". A number in a date-formatted cell is a date/datetime/time (a duration format: timedelta), as
  python-calamine gives it; a plain number stays a number (an Excel serial date too; the app's cleaner
  knows what a number means in its date column). Blank rows are skipped.
- ErrorWorkbook writes 行号 / 列 / 值 / 问题 plus a summary sheet, streaming (constant memory), so any
  app's import hands back the same workbook.

Knows nothing of any domain: the app gives the header → field map and cleans the values.
"""

from __future__ import annotations

import codecs
import csv
import functools
import itertools
import math
import posixpath
import re
import unicodedata
import zipfile
import zlib
from array import array
from collections.abc import Callable, Collection, Generator, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree
from xml.parsers import expat
from xml.sax import saxutils

import python_calamine
import xlsxwriter

from yanglao.core.errors import InvalidInput

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
STREAMED_SUFFIXES = (".xlsx", ".xlsm")
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


# --- .xlsx / .xlsm, streamed -------------------------------------------------------------------------
# An .xlsx is a zip of XML parts: the workbook names its sheets (and whether each is hidden), its
# relationships name each sheet's part, the shared-strings part holds the text most writers put in
# cells by index, the styles part says which cells are date-formatted, and the sheet's part lists
# <row>s of <c r="B7" t="…" s="…"><v>…</v></c>. The sheet is decompressed and parsed by expat in
# 64 KB chunks, and rows are handed on as they complete: memory holds a chunk, the shared strings and
# the cell formats, never the sheet.
#
# Speed, measured on the benchmark's 200,000 rows × 20 columns (26 MB, text inline): python-calamine
# reads it in ~2.5 s holding ~320 MB; this reader in ~3 s holding ~3 MB. expat alone, with Python
# callbacks, took ~7.5 s (4.2 s with empty callbacks: five to seven calls per cell are the cost);
# ElementTree.iterparse 7.7 s doing less, and 9.4 s plus a growing tree without a start event per
# element to empty <sheetData>; ElementTree.fromstring on pieces 11–16 s (~0.5 µs to build an element).
# So expat reads the head of the sheet, and the rows are read by one regular expression per piece of
# whole rows, a piece at a time, whenever the piece is provably what the expression knows; any other
# piece goes to expat (see _sheet_rows). Both ways are checked against python-calamine in the tests.
# expat's callbacks compare names by identity (pre-interned) and do no namespace processing (the
# part's prefix for the main namespace is read from its root: <worksheet> or <x:worksheet>).
_MAIN_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # Strict OOXML: the same elements
)
_CHUNK = 1 << 16
_DIGITS = "0123456789"
_XML_SPACE = " \t\n\r"
_DATE, _DURATION = 1, 2
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_EPOCH_1904 = datetime(1904, 1, 1)
_MS_PER_DAY = 86_400_000
_ESCAPE = re.compile(r"_x00([0-9a-fA-F]{2})_")
_MAX_SMALL_PART = 32 << 20  # workbook, relationships, styles: far above any real one
_SHEET_DATA = re.compile(rb"<(?:[\w.-]+:)?sheetData\b[^>]*>")
_FAST_ROWS = True  # the tests turn it off to check that expat alone reads the same
_MAX_PIECE = 16 << 20  # a piece of rows the fast path is given at most
_FAST_MISSES = 4  # pieces in a row the fast path could not read, before it leaves the sheet to expat
# The number formats Excel has without writing them down (ECMA-376 18.8.30), as python-calamine takes them.
_BUILTIN_FORMATS = {**dict.fromkeys((*range(14, 23), 45, 47), _DATE), 46: _DURATION}
# What makes the stream give up on a file before its first row; python-calamine then reads it.
_OPEN_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    KeyError,
    ValueError,
    IndexError,
    EOFError,
    OSError,
    RuntimeError,  # zipfile: an encrypted entry
    NotImplementedError,  # zipfile: a compression method it lacks
    expat.ExpatError,
    ElementTree.ParseError,
)
# What a damaged sheet raises once rows have been handed on.
_READ_ERRORS = (expat.ExpatError, zlib.error, zipfile.BadZipFile, EOFError, OSError, ValueError, IndexError)


class _NotStreamable(Exception):
    """The workbook is not laid out as the stream expects: python-calamine reads it instead."""


def _open_xlsx(path: Path, **options: Any) -> Table | None:
    """The first visible worksheet of an .xlsx/.xlsm, streamed; None leaves the file to calamine."""
    opened = _stream_xlsx(path)
    if opened is None:
        return None
    rows, total, close = opened
    try:
        return Table(rows, first_row_number=1, total_rows=total, close=close, **options)
    except BaseException:
        close()
        raise


def _stream_xlsx(path: Path) -> tuple[Iterator[list[Any]], int | None, Callable[[], None]] | None:
    """The rows of the first visible worksheet from row 1, its data rows by its <dimension> (None if
    not given), and what closes the file; None if the stream cannot read it."""
    try:
        package = _Package(path)
    except (OSError, zipfile.BadZipFile, ValueError):
        return None  # not a zip (an encrypted workbook is an OLE file): calamine says what it is
    handle: IO[bytes] | None = None
    try:
        part, shared_part, styles_part, is_1904 = package.first_sheet()
        shared = _SharedStrings.read(package, shared_part) if shared_part else _SharedStrings()
        formats = _cell_formats(package.xml(styles_part)) if styles_part else {}
        handle = package.zip.open(part)
        rows = _sheet_rows(handle, shared, formats, is_1904)
        dimension = next(rows)  # parses up to <sheetData>: the sheet's size is known
    except (_NotStreamable, *_OPEN_ERRORS):
        if handle is not None:
            handle.close()
        package.zip.close()
        return None
    opened = handle

    def close() -> None:
        rows.close()
        opened.close()
        package.zip.close()

    return rows, _dimension_rows(dimension), close


class _Package:
    """The zip and its parts, found through the relationships as Excel finds them."""

    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path)
        # Part names are case-insensitive (as Excel and calamine take them).
        self.names = {name.lower(): name for name in self.zip.namelist()}

    def part(self, name: str) -> str | None:
        return self.names.get(name.lstrip("/").lower())

    def xml(self, name: str) -> ElementTree.Element:
        """A small part, parsed whole. One larger than any real one (zipfile stops at the size the
        entry declares) or with a DTD is not parsed: no workbook part declares entities, and the
        file is someone's upload."""
        if self.zip.getinfo(name).file_size > _MAX_SMALL_PART:
            raise _NotStreamable(f"{name} is too large")
        content = self.zip.read(name)
        if b"<!DOCTYPE" in content:
            raise _NotStreamable(f"{name} has a DTD")
        return ElementTree.fromstring(content)  # noqa: S314 - no DTD, so no entity can be declared

    def relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """Id → (type, target part) of a part's relationships ("" for the package's own)."""
        folder, name = posixpath.split(part)
        rels = self.part(posixpath.join(folder, "_rels", f"{name}.rels"))
        found: dict[str, tuple[str, str]] = {}
        if rels is None:
            return found
        for rel in self.xml(rels):
            if _local(rel.tag) != "Relationship" or rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            found[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(target))
        return found

    def first_sheet(self) -> tuple[str, str | None, str | None, bool]:
        """The first visible worksheet's part, the shared-strings and styles parts (None if the
        workbook has none), and whether dates count from 1904."""
        workbook = next(
            (target for kind, target in self.relationships("").values() if kind.endswith("/officeDocument")),
            "xl/workbook.xml",
        )
        workbook = self.part(workbook) or ""
        if not workbook:
            raise _NotStreamable("no workbook part")
        rels = self.relationships(workbook)
        is_1904 = False
        sheet = None
        for element in self.xml(workbook).iter():
            tag = _local(element.tag)
            if tag == "workbookPr":
                is_1904 = element.get("date1904", "").lower() in ("1", "true")
            elif tag == "sheet" and sheet is None and element.get("state", "visible") == "visible":
                rid = next((v for k, v in element.attrib.items() if _local(k) == "id"), "")
                kind, target = rels.get(rid, ("", ""))
                if kind.endswith("/worksheet"):  # not a chart sheet, a dialog or a macro sheet
                    sheet = self.part(target)
                    if sheet is None:
                        raise _NotStreamable(f"no part {target}")
        if sheet is None:
            raise _NotStreamable("no visible worksheet")  # calamine says so, in the usual words

        def named(suffix: str, usual: str) -> str | None:
            return self.part(next((t for kind, t in rels.values() if kind.endswith(suffix)), usual))

        return (
            sheet,
            named("/sharedStrings", "xl/sharedStrings.xml"),
            named("/styles", "xl/styles.xml"),
            is_1904,
        )


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _format_kind(code: str) -> int:
    """Whether a custom number format shows a date/time (_DATE), a duration (_DURATION) or neither (0),
    decided as python-calamine decides it: a d/m/h/y/s outside quotes, escapes and [brackets] (or
    A/P after an a), or a bracketed [h]/[m]/[s] for a duration; only the first section counts."""
    escaped = quoted = am_pm = hms = False
    brackets = 0
    previous = " "
    for char in code:
        if escaped:
            escaped = False
        elif char in "_\\*":  # the next character is a literal (a width, an escape, a fill)
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"':
            quoted = True
        elif char == ";":
            return 0
        elif char == "[":
            brackets += 1
        elif char == "]" and brackets == 1 and hms:
            return _DURATION
        elif char == "]":
            brackets = max(0, brackets - 1)
        elif char in "aA" and not am_pm and not brackets:
            am_pm = True
        elif not brackets and (char in "pmPM/" if am_pm else char in "dmhysDMHYS"):
            return _DATE
        elif not (hms and char.lower() == previous.lower()):
            hms = previous == "[" and char in "mhsMHS"
        previous = char
    return 0


def _cell_formats(styles: ElementTree.Element) -> dict[str, int]:
    """A cell's s attribute (its format's index, as written) → _DATE or _DURATION, for those that are."""
    custom: dict[str, str] = {}
    kinds: dict[str, int] = {}
    for element in styles:
        tag = _local(element.tag)
        if tag == "numFmts":
            for fmt in element:
                if fmt.get("formatCode"):
                    custom[fmt.get("numFmtId", "")] = fmt.get("formatCode", "")
        elif tag == "cellXfs":
            for index, xf in enumerate(x for x in element if _local(x.tag) == "xf"):
                number_format = xf.get("numFmtId")
                if number_format is None:
                    continue
                if number_format in custom:
                    kind = _format_kind(custom[number_format])
                else:
                    kind = _BUILTIN_FORMATS.get(int(number_format) if number_format.isdigit() else -1, 0)
                if kind:
                    kinds[str(index)] = kind
    return kinds


def _parser() -> Any:
    parser = expat.ParserCreate()
    parser.buffer_text = True  # a text in one piece rather than split at entities and line ends
    parser.buffer_size = _CHUNK
    parser.StartDoctypeDeclHandler = _refuse_dtd
    return parser


def _refuse_dtd(*_: Any) -> None:
    # No part of a workbook has a DTD; one could only declare entities to expand.
    raise _NotStreamable("DTD")


def _bind(parser: Any, name: str, attrs: Mapping[str, str], root: str, *locals_: str) -> list[str]:
    """The names of the main namespace's elements as this part writes them ("c", or "x:c" when the
    root is <x:worksheet xmlns:x="…main">), interned in the parser, so that every name it reports is
    the very same string and compares at once."""
    prefix, _, local = name.rpartition(":")
    namespace = attrs.get(f"xmlns:{prefix}" if prefix else "xmlns")
    if local != root or namespace not in _MAIN_NAMESPACES:
        raise _NotStreamable(f"<{name} xmlns={namespace}>")
    qualify = f"{prefix}:" if prefix else ""
    return [parser.intern.setdefault(qualify + n, qualify + n) for n in locals_]


class _SharedStrings:
    """The workbook's shared-strings table, compact: every string UTF-8 encoded in one buffer, with
    their end offsets, decoded when a cell asks for one.

    It is the one part of a workbook read whole (a cell may point at any entry), so it is what grows
    with the file. Excel, WPS and XlsxWriter's default write every distinct text there once; with text
    that is mostly unique (names, ID and phone numbers, addresses) that is about one entry per text
    cell. Measured on 200,000 rows × 20 columns written by XlsxWriter without constant_memory: 783,676
    entries, 26.7 MB of XML; held as a list of str (what openpyxl does) +66 MB of RSS, held here +20 MB
    (~100 bytes a row), read in 0.9 s. XlsxWriter's constant_memory and openpyxl write text inline,
    with no table at all."""

    def __init__(self) -> None:
        self.text = bytearray()
        self.ends = array("Q", [0])

    def __len__(self) -> int:
        return len(self.ends) - 1

    def __getitem__(self, index: int) -> str:
        ends = self.ends
        return self.text[ends[index] : ends[index + 1]].decode()

    @classmethod
    def read(cls, package: _Package, part: str) -> _SharedStrings:
        """<si> by <si>: plain (<t>) or rich text (<r><t>…), without phonetic guides (<rPh>)."""
        table = cls()
        buffer, ends = table.text, table.ends
        parser = _parser()
        SI = T = RPH = ""  # element names, bound by the root
        text = ""  # of the <si>
        run = ""  # of its <t> being read
        collecting = phonetic = preserve = False

        def root(name: str, attrs: dict[str, str]) -> None:
            nonlocal SI, T, RPH
            SI, T, RPH = _bind(parser, name, attrs, "sst", "si", "t", "rPh")
            parser.StartElementHandler = start

        def start(name: str, attrs: dict[str, str]) -> None:
            nonlocal text, run, collecting, phonetic, preserve
            if name == T:
                collecting = not phonetic
                preserve = attrs.get("xml:space") == "preserve"
                run = ""
            elif name == SI:
                text = ""
            elif name == RPH:
                phonetic = True

        def end(name: str) -> None:
            nonlocal text, collecting, phonetic
            if name == T:
                if collecting:
                    text += run if preserve else run.strip(_XML_SPACE)
                collecting = False
            elif name == SI:
                buffer.extend((_unescaped(text) if "_x00" in text else text).encode())
                ends.append(len(buffer))
            elif name == RPH:
                phonetic = False

        def data(chunk: str) -> None:
            nonlocal run
            if collecting:
                run += chunk

        parser.StartElementHandler = root
        parser.EndElementHandler = end
        parser.CharacterDataHandler = data
        with package.zip.open(part) as handle:
            while chunk := handle.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        return table


def _unescaped(text: str) -> str:
    """Text with its _xHHHH_ escapes (ECMA-376 22.4.2.4: "\r" is written _x000D_, a literal _x000D_
    as _x005F_x000D_) read back, for the characters python-calamine reads back: U+0000 to U+00FF."""
    return _ESCAPE.sub(lambda match: chr(int(match[1], 16)), text)


def _column(letters: str) -> int:
    """A → 0, Z → 25, AA → 26; -1 if these are not column letters."""
    number = 0
    for char in letters.upper():
        if not "A" <= char <= "Z":
            return -1
        number = number * 26 + ord(char) - 64
    return number - 1


def _round_half_away(value: float) -> int:
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _serial_value(value: float, kind: int, is_1904: bool) -> Any:
    """A number in a date- or duration-formatted cell, as python-calamine gives it: a date for a whole
    number, a datetime with a fraction, a time below 1 (a time of day typed alone), a timedelta for a
    duration; to the millisecond; serials before 1900-03-01 shifted by Excel's 1900 leap-year day."""
    try:
        if kind == _DURATION:
            return timedelta(milliseconds=_round_half_away(value * _MS_PER_DAY))
        if is_1904:
            moment = _EXCEL_EPOCH_1904 + timedelta(milliseconds=_round_half_away(value * _MS_PER_DAY))
        else:
            days = value if value >= 60 else value + 1
            moment = _EXCEL_EPOCH + timedelta(milliseconds=_round_half_away(days * _MS_PER_DAY))
    except (OverflowError, ValueError):
        return value
    if value < 1:
        return moment.time()
    if value.is_integer():
        return moment.date()
    return moment


def _iso_value(text: str) -> Any:
    """A t="d" cell (ISO 8601, as Strict OOXML and openpyxl's iso_dates write dates)."""
    try:
        if "T" in text or " " in text:
            return datetime.fromisoformat(text.rstrip("Z"))
        if ":" in text:
            return time.fromisoformat(text)
        return date.fromisoformat(text)
    except ValueError:
        return text


def _dimension_rows(dimension: str | None) -> int | None:
    """Rows below the first by the sheet's <dimension ref="A1:T200001">, for progress."""
    if not dimension:
        return None
    first, _, last = dimension.partition(":")
    try:
        top = int(first.upper().lstrip("$ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        bottom = int((last or first).upper().lstrip("$ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    except ValueError:
        return None
    return max(0, bottom - top)


def _other_value(kind: str, text: str) -> Any:
    """A cell of a rarer type (t="b", "e", "str", "d" or unknown) from the text of its <v>."""
    if kind == "str":  # a formula's text
        return _unescaped(text) if "_x00" in text else text
    if not text:
        return ""
    if kind == "b":
        return text != "0"
    if kind == "e":
        return ""  # #DIV/0!, #N/A…: python-calamine gives an empty cell
    if kind == "d":
        return _iso_value(text)
    return text


@functools.cache
def _fast_cells(prefix: str) -> re.Pattern[str]:
    """The rows and cells the fast path reads, as XlsxWriter, Excel, openpyxl and LibreOffice write
    them: <row r="7" …> (or <row r="7" …/>), <c r="B7" s="1" t="s"> in that order with a <v>, an
    <is><t> or nothing. Groups: row number, "/" of an empty row, column letters, s, t, "/" of an empty
    cell, "v" and its text, "t" (or 't xml:space="preserve"') and its text."""
    p = re.escape(prefix)
    return re.compile(
        rf'<{p}row r="(\d+)"[^>]*?(/?)>'
        rf'|<{p}c r="([A-Z]{{1,3}})\d+"(?: s="(\d+)")?(?: t="(\w+)")?'
        rf"(?:(/)>|>(?:<{p}(v)>([^<]*)</{p}v>"
        rf'|<{p}is><{p}(t(?: xml:space="preserve")?)>([^<]*)</{p}t></{p}is>)?</{p}c>)'
    )


def _sheet_rows(
    handle: IO[bytes], shared: _SharedStrings, formats: Mapping[str, int], is_1904: bool
) -> Generator[Any, None, None]:
    """Parse a worksheet part as it is read: first yields the <dimension> ref (None if absent) once
    <sheetData> starts, then every row from row 1 as a list of values; a row without cells, or not
    written at all, is []. A cell's r="C5" places it; the columns skipped before it are "".

    Two ways, one result. expat reads the head of the part (up to <sheetData>), and the whole of a
    sheet not in UTF-8. The rows are cut into pieces at </row> (a "<" cannot occur in text or in an
    attribute, so a "</row>" is one, outside comments) and each piece is read by one regular
    expression (_fast_cells), 2–3× faster than expat's callbacks, if the piece is provably what it
    knows: every "<" in the piece belongs to a row, a cell or a </row> it read, and there is no entity
    (&) nor carriage return to decode. Otherwise (a formula, attributes in another order, rich text,
    pretty-printing) expat reads that piece, with the same callbacks, inside the root's namespaces;
    after a comment, CDATA or processing instruction (which could hold a "</row>") it reads on to the
    end without cutting."""
    parser: Any = None
    shared_text, shared_ends = shared.text, shared.ends
    out: list[list[Any]] = []  # the rows completed and not yet handed on
    row: list[Any] = []
    number = 0  # the last row started
    columns: dict[str, int] = {}  # "AB" → 27
    kind: str | None = None  # the cell's t attribute
    style: str | None = None  # its s
    ref: str | None = None  # its r
    text = ""  # of its <v>
    inline = ""  # of its <is>
    run = ""  # of the <t> of its <is> being read
    mode = 0  # where text goes: 0 nowhere, 1 text, 2 run
    phonetic = preserve = False
    head: dict[str, Any] = {"dimension": None, "sheet_data": False, "encoding": None, "root": None}
    C = V = T = IS = ROW = RPH = DIMENSION = SHEET_DATA = ""  # element names, bound by the root

    def declaration(version: str, encoding: str | None, standalone: int) -> None:
        head["encoding"] = encoding

    def root(name: str, attrs: dict[str, str]) -> None:
        nonlocal C, V, T, IS, ROW, RPH, DIMENSION, SHEET_DATA
        C, V, T, IS, ROW, RPH, DIMENSION, SHEET_DATA = _bind(
            parser, name, attrs, "worksheet", "c", "v", "t", "is", "row", "rPh", "dimension", "sheetData"
        )
        head["root"] = (name, {k: v for k, v in attrs.items() if k == "xmlns" or k.startswith("xmlns:")})
        parser.StartElementHandler = start

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal kind, style, ref, text, mode, inline, run, row, number, phonetic, preserve
        if name == C:
            kind = attrs.get("t")
            style = attrs.get("s")
            ref = attrs.get("r")
            text = inline = ""
        elif name == V:
            mode = 1
        elif name == T:
            mode = 0 if phonetic else 2
            preserve = attrs.get("xml:space") == "preserve"
            run = ""
        elif name == IS:
            inline = ""
        elif name == ROW:
            at = attrs.get("r")
            following = number + 1
            number = int(at) if at else following
            if number > following:  # rows not written are empty rows
                out.extend([] for _ in range(number - following))
            row = []
        elif name == RPH:
            phonetic = True
        elif name == DIMENSION:
            head["dimension"] = attrs.get("ref")
        elif name == SHEET_DATA:
            head["sheet_data"] = True

    def end(name: str) -> None:
        nonlocal mode, phonetic, inline
        if name == C:
            value: Any
            if kind is None or kind == "n":
                if not text:
                    value = ""
                else:
                    try:
                        value = float(text)
                    except ValueError:
                        value = text  # so does calamine with a cell that is not a number
                    else:
                        if style is not None and style in formats:
                            value = _serial_value(value, formats[style], is_1904)
            elif kind == "s":
                if text:
                    index = int(text)
                    value = shared_text[shared_ends[index] : shared_ends[index + 1]].decode()
                else:
                    value = ""
            elif kind == "inlineStr":
                value = _unescaped(inline) if "_x00" in inline else inline
            else:
                value = _other_value(kind, text)
            if ref is None:
                row.append(value)
                return
            letters = ref.rstrip(_DIGITS)
            column = columns.get(letters)
            if column is None:
                column = columns[letters] = _column(letters)
            width = len(row)
            if column == width or column < 0:
                row.append(value)
            elif column > width:
                row.extend([""] * (column - width))
                row.append(value)
            else:  # a cell out of order, or written twice: the last one stands
                row[column] = value
        elif name == V:
            mode = 0
        elif name == T:
            if mode == 2:  # as calamine: a <t> not marked xml:space="preserve" loses its edge spaces
                inline += run if preserve else run.strip(_XML_SPACE)
            mode = 0
        elif name == ROW:
            out.append(row)
        elif name == RPH:
            phonetic = False

    def data(chunk: str) -> None:
        nonlocal text, run
        if mode == 1:
            text += chunk
        elif mode == 2:
            run += chunk

    def new_parser() -> Any:
        nonlocal parser
        parser = _parser()
        parser.XmlDeclHandler = declaration
        parser.StartElementHandler = root
        parser.EndElementHandler = end
        parser.CharacterDataHandler = data
        return parser

    def fast(piece: str, cells: re.Pattern[str], row_end: str) -> bool:
        """Read a piece of whole rows by the expression; False, and nothing read, if it is not sure."""
        nonlocal number
        if "&" in piece or "\r" in piece:
            return False
        rows: list[list[Any]] = []
        at = number
        current: list[Any] | None = None
        tags = 0  # the "<" the expression accounts for
        for row_at, _, letters, style, kind, empty, v, v_text, t, t_text in cells.findall(piece):
            if row_at:
                tags += 1
                following = at + 1
                at = int(row_at)
                if at > following:
                    rows.extend([] for _ in range(at - following))
                current = []
                rows.append(current)  # filled below: the piece ends with whole rows
                continue
            if current is None:
                return False
            tags += 4 if v else 6 if t else 1 if empty else 2
            value: Any
            if not kind or kind == "n":
                if not v_text:
                    value = ""
                else:
                    try:  # (float() also takes " 1 ", "1_0" and non-ASCII digits, where calamine
                        value = float(v_text)  # gives text; no writer puts those in a <v>)
                    except ValueError:
                        value = v_text
                    else:
                        if style and style in formats:
                            value = _serial_value(value, formats[style], is_1904)
            elif kind == "s":
                if v_text:
                    index = int(v_text)
                    value = shared_text[shared_ends[index] : shared_ends[index + 1]].decode()
                else:
                    value = ""
            elif kind == "inlineStr":
                if len(t) == 1:  # no xml:space="preserve"
                    t_text = t_text.strip(_XML_SPACE)
                value = _unescaped(t_text) if "_x00" in t_text else t_text
            else:
                value = _other_value(kind, v_text)
            column = columns.get(letters)
            if column is None:
                column = columns[letters] = _column(letters)
            width = len(current)
            if column == width:
                current.append(value)
            elif column > width:
                current.extend([""] * (column - width))
                current.append(value)
            else:
                current[column] = value
        if tags + piece.count(row_end) != piece.count("<"):
            return False
        out.extend(rows)
        number = at
        return True

    read = handle.read
    # The head, by expat: the root (names, namespaces), <dimension>, up to the <sheetData> tag.
    buffer = b""
    found = None
    while found is None:
        chunk = read(_CHUNK)
        buffer += chunk
        found = _SHEET_DATA.search(buffer)
        if not chunk or len(buffer) > _MAX_SMALL_PART or buffer[:2] in (b"\xff\xfe", b"\xfe\xff"):
            break
    if found is None:
        raise _NotStreamable("no <sheetData>")  # or not UTF-8: calamine reads it
    new_parser().Parse(buffer[: found.end()], False)
    if not head["sheet_data"] or head["root"] is None:
        raise _NotStreamable("<sheetData> not where it was found")
    yield head["dimension"]
    buffer = buffer[found.end() :]
    if found[0].endswith(b"/>"):
        return  # <sheetData/>: no rows

    def to_the_end(data: bytes) -> Iterator[list[Any]]:
        """expat to the end of the part, from where its parser stopped."""
        while True:
            try:
                data = data or read(_CHUNK)
                parser.Parse(data, not data)
            except _READ_ERRORS as error:
                raise _damaged(number, error) from None
            if out:
                yield from out
                out.clear()
            if not data:
                return
            data = b""

    if not _FAST_ROWS or (head["encoding"] or "utf-8").lower() not in ("utf-8", "utf8"):
        yield from to_the_end(buffer)
        return

    root_name, namespaces = head["root"]
    prefix = root_name.rpartition(":")[0]
    qualify = f"{prefix}:" if prefix else ""
    cells = _fast_cells(qualify)
    row_end_text = f"</{qualify}row>"
    row_end = row_end_text.encode()
    data_end = f"</{qualify}sheetData>".encode()
    # What a piece is wrapped in for expat: the root with its namespaces, and <sheetData>.
    opening = (
        f"<{root_name}"
        + "".join(f" {k}={saxutils.quoteattr(v)}" for k, v in namespaces.items())
        + f"><{qualify}sheetData>"
    ).encode()
    closing = f"</{qualify}sheetData></{root_name}>".encode()
    ended = False
    misses = 0  # pieces in a row the expression could not read: after a few, it stops trying
    while not ended:
        try:
            chunk = read(_CHUNK)
            buffer += chunk
            cut = buffer.rfind(row_end)
            finish = buffer.find(data_end, max(cut, 0))
            continue_with_expat = False
            if finish >= 0:
                piece, buffer, ended = buffer[:finish], buffer[finish:], True
            elif not chunk:
                raise expat.ExpatError(f"no </{qualify}sheetData>: the sheet is cut short")
            elif cut < 0:
                if len(buffer) <= _MAX_PIECE:
                    continue  # a row longer than what has been read so far
                # No </row> in 16 MB (a "</row >", say): expat reads on, memory stays bounded.
                piece, buffer, continue_with_expat = buffer, b"", True
            else:
                cut += len(row_end)
                piece, buffer = buffer[:cut], buffer[cut:]
            if continue_with_expat:
                pass
            elif misses < _FAST_MISSES and fast(piece.decode(), cells, row_end_text):
                misses = 0
            else:
                misses += 1
                # A comment, CDATA or processing instruction may hold a "</row>" that is not one:
                # then the cut may be wrong, and expat reads on from here without cutting.
                continue_with_expat = b"<!" in piece or b"<?" in piece
                if not continue_with_expat:
                    new_parser().Parse(opening + piece + closing, True)
        except _READ_ERRORS as error:
            raise _damaged(number, error) from None
        if continue_with_expat:
            new_parser().Parse(opening, False)
            yield from to_the_end(piece + buffer)
            return
        if out:
            yield from out
            out.clear()


def _damaged(number: int, error: Exception) -> SheetError:
    return SheetError(f"无法读取文件第 {number} 行附近：{error}（文件可能已损坏）", field="file")


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
