"""The streamed .xlsx/.xlsm reader: the zip's parts found through their relationships, the shared
strings held compact, the date-formatted cell styles, and the worksheet parsed by expat and a checked
regular-expression fast path as it is decompressed, so memory stays flat whatever the sheet's size.
A workbook it does not understand is left to python-calamine (calamine.py); what a cell's text means
is in xlsxvalues.py."""

from __future__ import annotations

import functools
import posixpath
import re
import zipfile
import zlib
from array import array
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree
from xml.parsers import expat
from xml.sax import saxutils

from yanglao.core.sheets.table import SheetError, Table
from yanglao.core.sheets.xlsxvalues import (
    _BUILTIN_FORMATS,
    _column,
    _dimension_rows,
    _format_kind,
    _other_value,
    _serial_value,
    _unescaped,
)

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
_MAX_SMALL_PART = 32 << 20  # workbook, relationships, styles: far above any real one
_SHEET_DATA = re.compile(rb"<(?:[\w.-]+:)?sheetData\b[^>]*>")
_FAST_ROWS = True  # the tests turn it off to check that expat alone reads the same
_MAX_PIECE = 16 << 20  # a piece of rows the fast path is given at most
_FAST_MISSES = 4  # pieces in a row the fast path could not read, before it leaves the sheet to expat
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
