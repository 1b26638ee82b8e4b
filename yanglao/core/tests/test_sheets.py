"""The generic table reader and error workbook that every app's import uses (core/sheets/)."""

import re
import tracemalloc
import zipfile
from datetime import date, datetime, time, timedelta

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from yanglao.core import sheets
from yanglao.core.sheets import ErrorWorkbook, RowError, SheetError, calamine, xlsx

HEADERS = {"姓名": "name", "编号": "code", "日期": "day", "备注": "note"}


def write_xlsx(path, rows, *, start_col=0):
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    as_date = book.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, date):
                sheet.write_datetime(r, c + start_col, datetime(value.year, value.month, value.day), as_date)
            elif isinstance(value, str):
                sheet.write_string(r, c + start_col, value)
            else:
                sheet.write(r, c + start_col, value)
    book.close()
    return path


def read(path, **options):
    options.setdefault("required", {"name", "code"})
    with sheets.open_table(path, HEADERS, **options) as table:
        rows = [row for batch in table.batches(2) for row in batch]
        return table, rows


def test_headers_are_matched_by_name_in_any_order(tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [["备注", "编号", "姓名"], ["x", "001", "甲"], ["", "002", "乙"]])
    table, rows = read(path)
    assert table.header_problems == []
    assert rows == [
        (2, {"note": "x", "code": "001", "name": "甲"}),
        (3, {"note": "", "code": "002", "name": "乙"}),
    ]


def test_unknown_repeated_and_missing_required_headers_are_problems_in_chinese(tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [["姓名", "电话", "姓名"], ["甲", "1", "乙"]])
    table, _ = read(path)
    assert [(p.row, p.column, p.problem) for p in table.header_problems] == [
        (1, "电话", "未知的列名“电话”：请使用模板中的列名，或删除该列"),
        (1, "姓名", "列名“姓名”重复"),
        (1, "编号", "缺少必填列“编号”"),
    ]


def test_headers_are_normalised_and_ignored_headers_skipped(tmp_path):
    path = write_xlsx(
        tmp_path / "a.xlsx", [["序号", "姓　名＊", " 编 号 ", "ＮＯＴＥ"], [1, "甲", "001", "x"]]
    )
    with sheets.open_table(path, {**HEADERS, "NOTE": "note"}, ignored={"序号"}) as table:
        assert table.header_problems == []
        assert table.fields == ["name", "code", "note"]
        assert list(table.batches()) == [[(2, {"name": "甲", "code": "001", "note": "x"})]]


def test_rows_one_at_a_time_are_the_rows_of_the_batches(tmp_path):
    rows = [
        ["姓名", "编号"],
        ["甲", "1"],
        [],
        ["乙", "2"],
        ["丙", "3"],
        ["  ", None],
        ["丁", "4"],
        ["戊", "5"],
    ]
    path = write_xlsx(tmp_path / "a.xlsx", rows)
    with sheets.open_table(path, HEADERS) as table:
        one_by_one = list(table.rows())
    with sheets.open_table(path, HEADERS) as table:
        batches = list(table.batches(2))
    assert [len(batch) for batch in batches] == [2, 2, 1]  # blank rows do not count
    assert one_by_one == [row for batch in batches for row in batch]
    assert [(n, r["name"]) for n, r in one_by_one] == [(2, "甲"), (4, "乙"), (5, "丙"), (7, "丁"), (8, "戊")]


def test_row_numbers_are_those_excel_shows_after_a_title_and_blank_rows(tmp_path):
    rows = [["某某社区老人名单"], [], ["姓名", "编号"], ["甲", "1"], [], ["  ", None], ["乙", "2"]]
    for start_col in (0, 2):
        table, read_rows = read(write_xlsx(tmp_path / f"a{start_col}.xlsx", rows, start_col=start_col))
        assert table.header_row == 3
        assert [(n, r["name"]) for n, r in read_rows] == [(4, "甲"), (7, "乙")]


def test_cell_values_pass_through_and_serial_dates_stay_numbers(tmp_path):
    path = write_xlsx(
        tmp_path / "a.xlsx", [["姓名", "编号", "日期"], ["甲", 12, 43831], ["乙", 1.5, date(2020, 1, 2)]]
    )
    _, rows = read(path)
    assert rows[0][1]["day"] == 43831
    assert rows[0][1]["code"] == 12
    assert rows[1][1]["day"] == date(2020, 1, 2)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_is_read_as_utf8_with_or_without_bom_or_as_gb18030(tmp_path, encoding):
    path = tmp_path / "a.csv"
    path.write_bytes('编号,姓名,备注\r\n001,张　三,"含,逗号"\r\n\r\n002,李四,\r\n'.encode(encoding))
    table, rows = read(path)
    assert table.header_problems == []
    assert rows == [
        (2, {"code": "001", "name": "张　三", "note": "含,逗号"}),
        (4, {"code": "002", "name": "李四", "note": ""}),
    ]
    assert table.total_rows == 3


def test_a_tab_separated_csv_and_short_rows(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("姓名\t编号\t备注\n甲\t1\n", encoding="utf-8")
    _, rows = read(path)
    assert rows == [(2, {"name": "甲", "code": "1", "note": ""})]


def test_unsupported_or_damaged_files_are_refused_in_chinese(tmp_path):
    with pytest.raises(SheetError, match="不支持的文件类型"):
        sheets.open_table(tmp_path / "a.docx", HEADERS)
    damaged = tmp_path / "a.xlsx"
    damaged.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(SheetError, match="无法读取文件"):
        sheets.open_table(damaged, HEADERS)


def test_an_empty_file_is_a_header_problem(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"")
    table, rows = read(path)
    assert [p.problem for p in table.header_problems] == ["文件中没有数据（第一行应为列名）"]
    assert rows == []


def test_the_error_workbook_has_row_column_value_problem_and_a_summary(tmp_path):
    book = ErrorWorkbook(tmp_path / "out" / "e.xlsx", title="测试导入")
    book.add(RowError(2, "身份证号码", "120101194503081234", "身份证号码校验位错误"))
    book.add(RowError(3, "日期", date(2020, 1, 2), "晚于今天"))
    book.add(RowError(4, "数量", 2.0, "应为1到1之间"))
    path = book.close({"文件": "a.xlsx", "新增": 5})
    workbook = CalamineWorkbook.from_path(str(path))
    assert workbook.sheet_names == ["错误明细", "汇总"]
    assert workbook.get_sheet_by_name("错误明细").to_python() == [
        ["行号", "列", "值", "问题"],
        [2.0, "身份证号码", "120101194503081234", "身份证号码校验位错误"],
        [3.0, "日期", "2020-01-02", "晚于今天"],
        [4.0, "数量", "2", "应为1到1之间"],
    ]
    assert workbook.get_sheet_by_name("汇总").to_python() == [
        ["项目", "测试导入"],
        ["文件", "a.xlsx"],
        ["新增", 5.0],
        ["错误条数", 3.0],
    ]


# --- the streamed .xlsx reader, against python-calamine (the reference) ------------------------------
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
# Cell formats for hand-written workbooks: s="1" built-in date, "2" custom date, "3" duration,
# "4" a number format with a quoted d, "5" built-in date and time.
STYLES = (
    '<numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy/m/d"/>'
    '<numFmt numFmtId="165" formatCode="[h]:mm"/><numFmt numFmtId="166" formatCode="0.00&quot;d&quot;"/>'
    '</numFmts><cellXfs count="6"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/>'
    '<xf numFmtId="165"/><xf numFmtId="166"/><xf numFmtId="22"/></cellXfs>'
)
TEXTS = [
    "甲",
    " leading and trailing ",
    "a & b < c > d \"quoted\" 'apos'",
    "two\nlines",
    "tab\there",
    "🀄 astral",
    "_x000D_",
]


def build_xlsx(path, sheet_xml, *, shared=None, styles=None, workbook_pr="", sheets_=None, absolute=False):
    """A workbook from its XML parts, for what the writers do not write (gaps, inline rich text,
    prefixes, hidden sheets…). `sheets_`: [(name, state, sheet XML)], else one sheet."""
    sheets_ = sheets_ or [("Sheet1", "", sheet_xml)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            "</Types>",
        )
        z.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
            f'Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        workbook = [f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">{workbook_pr}<sheets>']
        rels = [f'<Relationships xmlns="{PACKAGE_RELS}">']
        for i, (name, state, xml) in enumerate(sheets_, 1):
            shown = f' state="{state}"' if state else ""
            workbook.append(f'<sheet name="{name}" sheetId="{i}"{shown} r:id="rId{i}"/>')
            target = f"/xl/worksheets/sheet{i}.xml" if absolute else f"worksheets/sheet{i}.xml"
            rels.append(f'<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" Target="{target}"/>')
            z.writestr(f"xl/worksheets/sheet{i}.xml", xml)
        if shared is not None:
            rels.append(
                f'<Relationship Id="rId98" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
            )
            z.writestr("xl/sharedStrings.xml", f'<sst xmlns="{MAIN_NS}">{shared}</sst>')
        if styles is not None:
            rels.append(f'<Relationship Id="rId99" Type="{REL_NS}/styles" Target="styles.xml"/>')
            z.writestr("xl/styles.xml", f'<styleSheet xmlns="{MAIN_NS}">{styles}</styleSheet>')
        z.writestr("xl/workbook.xml", "".join(workbook) + "</sheets></workbook>")
        z.writestr("xl/_rels/workbook.xml.rels", "".join(rels) + "</Relationships>")
    return path


def sheet_xml(rows, *, prefix="", dimension=""):
    if prefix:  # every element of the main namespace written as <x:row>, <x:c>…
        rows = re.sub(r"<(/?)(\w)", rf"<\1{prefix}:\2", rows)
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{MAIN_NS}"' if prefix else f'xmlns="{MAIN_NS}"'
    dim = f'<{p}dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f"<{p}worksheet {xmlns}>{dim}<{p}sheetData>{rows}</{p}sheetData></{p}worksheet>"
    )


def trimmed(rows):
    """Rows without their trailing empty cells, and without trailing empty rows: calamine pads every
    row to the sheet's width, the stream does not (Table reads a missing cell as "")."""
    rows = [list(row) for row in rows]
    for row in rows:
        while row and row[-1] == "":
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows


def calamine_rows(path):
    """The first visible worksheet as python-calamine reads it, from row 1."""
    workbook = CalamineWorkbook.from_path(str(path))
    name = next(m.name for m in workbook.sheets_metadata if m.visible == SheetVisibleEnum.Visible)
    sheet = workbook.get_sheet_by_name(name)
    rows = sheet.to_python(skip_empty_area=False)
    workbook.close()
    return trimmed(rows)


def streamed_rows(path, *, fast=True):
    """The rows as the stream reads them: by its fast path where it can (else expat), or expat only."""
    saved, xlsx._FAST_ROWS = xlsx._FAST_ROWS, fast
    try:
        opened = xlsx._stream_xlsx(path)
        assert opened is not None, "the stream gave the file to calamine"
        rows, _, close = opened
        try:
            return trimmed(rows)
        finally:
            close()
    finally:
        xlsx._FAST_ROWS = saved


def typed(rows):
    """Values with their types: 1 == 1.0 == True, and date == datetime would hide a difference."""
    return [[(type(v).__name__, v) for v in row] for row in rows]


def assert_as_calamine(path):
    """The stream reads what calamine reads, with its fast path and with expat alone."""
    reference = typed(calamine_rows(path))
    ours = streamed_rows(path)
    assert typed(ours) == reference
    assert typed(streamed_rows(path, fast=False)) == reference
    return ours


def parsers_made(monkeypatch):
    """Counts the expat parsers the stream makes: one for the sheet's head, one for the shared strings,
    and one for each piece of rows the fast path leaves to expat."""
    made = []
    make = xlsx._parser

    def counting():
        made.append(1)
        return make()

    monkeypatch.setattr(xlsx, "_parser", counting)
    return made


def test_shared_strings_plain_rich_and_phonetic_as_calamine(tmp_path):
    shared = (
        "<si><t>plain</t></si>"
        '<si><r><t>ri</t></r><r><rPr><b/></rPr><t>ch</t></r><rPh sb="0" eb="1"><t>ふりがな</t></rPh></si>'
        '<si><t xml:space="preserve"> spaced </t></si>'
        "<si><t>a &amp; b &lt; c</t></si>"
    )
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c></row>'
    path = build_xlsx(tmp_path / "a.xlsx", sheet_xml(rows), shared=shared)
    assert assert_as_calamine(path) == [["plain", "rich", " spaced ", "a & b < c"]]


def test_inline_strings_plain_and_rich_as_calamine(tmp_path):
    rows = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>行内</t></is></c>'
        '<c r="B1" t="inlineStr"><is><r><t>x</t></r><r><t xml:space="preserve"> y </t></r>'
        "<rPh><t>PH</t></rPh></is></c>"
        '<c r="C1" t="inlineStr"><is><t/></is></c><c r="D1" t="inlineStr"><is><t>d</t></is></c></row>'
    )
    path = build_xlsx(tmp_path / "a.xlsx", sheet_xml(rows))
    assert assert_as_calamine(path) == [["行内", "x y ", "", "d"]]


def test_escaped_characters_are_read_back_as_calamine_reads_them(tmp_path):
    """_xHHHH_ (ECMA-376 22.4.2.4) in shared, inline and formula text: "\r" is written _x000D_ and a
    literal "_x000D_" as _x005F_x000D_; calamine reads back U+0000–U+00FF and leaves the others."""
    shared = "<si><t>a_x000D_b_x005F_x000D_c_x00e9_d_x4E2D_e_X0041_f_x0041</t></si><si><t/></si>"
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="inlineStr"><is><t>i_x0009_</t></is></c><c r="D1" t="str"><v>s_x0041_</v></c></row>'
    )
    path = build_xlsx(tmp_path / "a.xlsx", sheet_xml(rows), shared=shared)
    assert assert_as_calamine(path) == [["a\rb_x000D_céd_x4E2D_e_X0041_f_x0041", "", "i\t", "sA"]]


def test_edge_spaces_of_text_as_calamine(tmp_path):
    """A <t> not marked xml:space="preserve" loses its XML spaces at both ends (openpyxl writes a lone
    space so), run by run; <v> text keeps them; an ideographic or no-break space is not XML space."""
    texts = [" ", " a ", "\n\n", "\u3000甲\u3000", "\xa0a\xa0", " &#32;a ", " _x0020_a "]
    shared = "".join(f"<si><t>{t}</t></si>" for t in texts)
    shared += '<si><t xml:space="preserve"> kept </t></si><si><r><t xml:space="preserve"> a </t></r><r><t> b </t></r></si>'
    cells = "".join(f'<c r="{chr(65 + i)}1" t="s"><v>{i}</v></c>' for i in range(len(texts) + 2))
    inline = "".join(
        f'<c r="{chr(65 + i)}2" t="inlineStr"><is><t>{t}</t></is></c>' for i, t in enumerate(texts)
    )
    inline += f'<c r="{chr(65 + len(texts))}2" t="inlineStr"><is><t xml:space="preserve"> kept </t></is></c>'
    formula = '<c r="A3" t="str"><v> v </v></c>'
    path = build_xlsx(
        tmp_path / "a.xlsx",
        sheet_xml(f'<row r="1">{cells}</row><row r="2">{inline}</row><row r="3">{formula}</row>'),
        shared=shared,
    )
    ours = assert_as_calamine(path)
    assert ours[0] == ["", "a", "", "\u3000甲\u3000", "\xa0a\xa0", "a", " a", " kept ", " a b"]
    assert ours[1] == ["", "a", "", "\u3000甲\u3000", "\xa0a\xa0", "a", " a", " kept "]
    assert ours[2] == [" v "]


def test_gaps_in_rows_and_columns_are_empty_as_calamine(tmp_path):
    rows = (
        '<row r="2"><c r="C2"><v>1</v></c><c r="F2"><v>2</v></c></row>'  # row 1 and columns A, B, D, E
        '<row r="5" spans="1:3"><c r="A5" s="0"/><c r="B5"><v>3</v></c></row>'  # a styled empty cell
        '<row r="6"/>'
        '<row r="9"><c r="AA9" t="inlineStr"><is><t>far</t></is></c></row>'
        "<row><c><v>4</v></c><c><v>5</v></c></row>"  # no r: the next row, the next column
    )
    path = build_xlsx(tmp_path / "a.xlsx", sheet_xml(rows))
    ours = assert_as_calamine(path)
    assert ours[1] == ["", "", 1.0, "", "", 2.0]
    assert ours[4] == ["", 3.0]
    assert ours[8] == [""] * 26 + ["far"]
    assert ours[9] == [4.0, 5.0]
    assert ours[0] == ours[2] == ours[3] == ours[5] == []


def test_numbers_booleans_errors_formulas_and_dates_as_calamine(tmp_path):
    rows = (
        '<row r="1"><c r="A1"><v>43832</v></c><c r="B1"><v>-1.5E+3</v></c><c r="C1" t="n"><v>7</v></c>'
        '<c r="D1" t="b"><v>1</v></c><c r="E1" t="b"><v>0</v></c><c r="F1" t="e"><v>#N/A</v></c>'
        '<c r="G1" t="str"><f>"a"&amp;"b"</f><v>ab</v></c><c r="H1"><f>1+1</f><v>2</v></c>'
        '<c r="I1"><v>12345678901234567</v></c><c r="J1"><v>abc</v></c></row>'
        # serials in date, custom date, duration, "0.00"d"" (not a date) and date-time cells
        '<row r="2"><c r="A2" s="1"><v>43832</v></c><c r="B2" s="2"><v>43832.5</v></c>'
        '<c r="C2" s="3"><v>1.25</v></c><c r="D2" s="4"><v>3</v></c><c r="E2" s="5"><v>0.25</v></c>'
        '<c r="F2" s="1"><v>60</v></c><c r="G2" s="1"><v>59</v></c><c r="H2" s="9"><v>5</v></c></row>'
        '<row r="3"><c r="A3" t="d"><v>2020-01-02</v></c><c r="B3" t="d"><v>2020-01-02T03:04:05</v></c></row>'
    )
    path = build_xlsx(tmp_path / "a.xlsx", sheet_xml(rows), styles=STYLES)
    ours = assert_as_calamine(path)
    assert ours[0] == [43832.0, -1500.0, 7.0, True, False, "", "ab", 2.0, 12345678901234567.0, "abc"]
    assert ours[1][:5] == [
        date(2020, 1, 2),
        datetime(2020, 1, 2, 12),
        timedelta(days=1, hours=6),
        3.0,
        time(6),
    ]
    assert ours[1][5:] == [date(1900, 2, 28), date(1900, 2, 28), 5.0]  # Excel's 29 February 1900
    assert ours[2] == [date(2020, 1, 2), datetime(2020, 1, 2, 3, 4, 5)]


def test_date_formats_and_serials_as_calamine_in_both_date_systems(tmp_path):
    formats = [
        "General", "0.00", "yyyy-mm-dd", "d/m/yy h:mm", "h:mm AM/PM", "[h]:mm:ss", "[mm]:ss", "mm:ss",
        "0.00%", '"Y: "0.00"m"', "#,##0*y", "[$-404]e/m/d", "[>=100][Magenta][s].00", "@", "mmm-yy",
        'yyyy"年"m"月"d"日"', "\\Y000000", "a/p", "H:MM:SS;@", '#,##0.00\\ _M"H"_);[Red]#,##0.00',
    ]  # fmt: skip
    serials = [0, 0.25, 1, 1.5, 59, 60, 61, 43832, 43832.999999, 43832.0000001, 2958465, 1e7, -1, -0.5]
    for date_1904 in (False, True):
        path = tmp_path / f"dates-{date_1904}.xlsx"
        book = xlsxwriter.Workbook(str(path), {"date_1904": date_1904})
        sheet = book.add_worksheet()
        for row, code in enumerate(formats):
            number_format = book.add_format({"num_format": code})
            for column, serial in enumerate(serials):
                sheet.write_number(row, column, serial, number_format)
        book.close()
        assert_as_calamine(path)


def write_mixed(path, *, constant_memory):
    """Text (some repeated), numbers, booleans, dates, blanks and a gap, as XlsxWriter writes them."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": constant_memory, "strings_to_numbers": False})
    sheet = book.add_worksheet("名单")
    as_date = book.add_format({"num_format": "yyyy-mm-dd"})
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, ["序号", "姓名", "身份证号码", "出生日期", "备注", "是否"])
    for r in range(1, 301):
        sheet.write_number(r, 0, r)
        sheet.write_string(r, 1, TEXTS[r % len(TEXTS)] + str(r % 50))
        sheet.write_string(r, 2, f"12010119450308{r:04d}")
        if r % 2:
            sheet.write_datetime(r, 3, datetime(1945, 3, 8) + timedelta(days=r), as_date)
        else:
            sheet.write_number(r, 3, 16504 + r)  # a serial date in a plain cell stays a number
        if r % 3:
            sheet.write_blank(r, 4, None, bold)
        sheet.write_boolean(r, 5, bool(r % 2))
    sheet.write_rich_string(301, 1, "富", bold, "文本")
    sheet.write_string(305, 7, "gap")
    book.close()
    return path


@pytest.mark.parametrize("constant_memory", [False, True], ids=["shared-strings", "constant-memory"])
def test_an_xlsxwriter_workbook_as_calamine(tmp_path, constant_memory):
    path = write_mixed(tmp_path / "a.xlsx", constant_memory=constant_memory)
    with zipfile.ZipFile(path) as z:  # what each mode writes: a shared-strings table, or inline text
        assert ("xl/sharedStrings.xml" in z.namelist()) != constant_memory
    ours = assert_as_calamine(path)
    assert ours[1] == [
        1.0,
        " leading and trailing 1",
        "120101194503080001",
        date(1945, 3, 9),
        "",
        True,
    ]
    assert ours[2][3] == 16506.0
    assert ours[301][1] == "富文本"
    assert ours[305] == [""] * 7 + ["gap"]


def test_an_openpyxl_workbook_as_calamine(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    path = tmp_path / "a.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "老人"
    hidden = book.create_sheet("before", 0)  # a hidden first sheet: the first visible one is read
    hidden["A1"] = "hidden"
    hidden.sheet_state = "hidden"
    sheet.append(["姓名", "数量", "日期", "时间", "布尔", "公式", "备注"])
    for r in range(1, 51):
        sheet.append(
            [
                TEXTS[r % len(TEXTS)],
                r * 1.5,
                date(2020, 1, r % 28 + 1),
                datetime(2020, 1, 2, 3, r),
                r % 2 == 0,
                "=1+1",
                None,
            ]
        )
    sheet["J60"] = "far"
    book.save(path)
    ours = assert_as_calamine(path)
    assert ours[0][0] == "姓名"
    assert ours[1][:5] == [TEXTS[1], 1.5, date(2020, 1, 2), datetime(2020, 1, 2, 3, 1), False]
    assert ours[59] == [""] * 9 + ["far"]


def test_what_the_writers_write_is_read_by_the_fast_path(tmp_path, monkeypatch):
    openpyxl = pytest.importorskip("openpyxl")
    made = parsers_made(monkeypatch)
    for constant_memory in (False, True):
        path = tmp_path / f"x{constant_memory}.xlsx"
        book = xlsxwriter.Workbook(str(path), {"constant_memory": constant_memory})
        sheet = book.add_worksheet()
        as_date = book.add_format({"num_format": "yyyy-mm-dd"})
        for r in range(3000):
            sheet.write_row(r, 0, [r, f"姓名{r}", f" {r} ", True, "", 1.5])
            sheet.write_datetime(r, 6, datetime(2020, 1, 2), as_date)
        book.close()
        made.clear()
        assert len(streamed_rows(path)) == 3000
        assert len(made) == (1 if constant_memory else 2)  # the head (and the shared strings) only
    book = openpyxl.Workbook()
    for r in range(3000):
        book.active.append([f"姓名{r}", r * 1.5, date(2020, 1, 1), r % 2 == 0, None, "备注"])
    book.save(tmp_path / "o.xlsx")
    made.clear()
    assert len(streamed_rows(tmp_path / "o.xlsx")) == 3000
    assert made == [1]


UNUSUAL = [  # what the fast path leaves to expat
    '<c r="B{r}"><f>1+1</f><v>2</v></c>',
    '<c r="B{r}" t="inlineStr"><is><t>a &amp; b</t></is></c>',
    '<c t="inlineStr" r="B{r}"><is><t>order</t></is></c>',
    '\n    <c r="B{r}">\n      <v>3</v>\n    </c>\n',
    '<c r="B{r}" t="inlineStr"><is><r><t>ri</t></r><r><t>ch</t></r></is></c>',
    '<!-- </row> --><c r="B{r}"><v>4</v></c>',  # a comment: expat reads on from there
]


def unusual_sheet(path, rows=12_000, every=2_000):
    """Rows of two cells, one row in `every` with something unusual, each in a piece of its own."""
    xml = []
    for r in range(1, rows + 1):
        cells = f'<c r="A{r}"><v>{r}</v></c>' + (
            UNUSUAL[r // every].format(r=r) if r % every == every // 2 else ""
        )
        xml.append(f'<row r="{r}" spans="1:2">{cells}</row>')
    return build_xlsx(path, sheet_xml("".join(xml)))


def test_pieces_the_fast_path_does_not_know_are_read_by_expat(tmp_path, monkeypatch):
    """A formula, an entity, attributes in another order, pretty-printing, rich text, a comment: a
    piece of rows with one is read by expat, the others by the fast path, and all as calamine reads."""
    path = unusual_sheet(tmp_path / "a.xlsx")
    made = parsers_made(monkeypatch)
    ours = assert_as_calamine(path)
    assert [ours[r - 1][1] for r in range(1000, 12_000, 2000)] == [2.0, "a & b", "order", 3.0, "rich", 4.0]
    made.clear()
    streamed_rows(path)
    assert len(made) == 1 + 5 + 1  # the head, a piece for each of the first five, then the comment's


def test_rows_not_ended_as_expected_are_read_by_expat_in_bounded_memory(tmp_path, monkeypatch):
    """ "</row >" is well-formed XML; without a "</row>" to cut at, the fast path stops waiting."""
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row >' for r in range(1, 2001))
    path = build_xlsx(tmp_path / "a.xlsx", sheet_xml(rows))
    monkeypatch.setattr(xlsx, "_MAX_PIECE", 4096)
    made = parsers_made(monkeypatch)
    assert [row[0] for row in assert_as_calamine(path)] == [float(r) for r in range(1, 2001)]
    made.clear()
    streamed_rows(path)
    assert made == [1, 1]  # the head, then one parser to the end


@pytest.mark.parametrize("chunk", [7, 61, 500, 4096])
def test_any_chunk_size_reads_the_same(tmp_path, monkeypatch, chunk):
    """Rows longer than a chunk, a "</row>" in a comment cut anywhere: the pieces are still right."""
    path = unusual_sheet(tmp_path / "a.xlsx", rows=120, every=20)
    expected = typed(calamine_rows(path))
    monkeypatch.setattr(xlsx, "_CHUNK", chunk)
    assert typed(streamed_rows(path)) == expected
    assert typed(streamed_rows(path, fast=False)) == expected


def test_a_prefixed_namespace_a_hidden_sheet_and_absolute_targets(tmp_path):
    rows = '<row r="2"><c r="B2" t="inlineStr"><is><t>visible</t></is></c><c r="C2"><v>1</v></c></row>'
    hidden = sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>hidden</t></is></c></row>')
    path = build_xlsx(
        tmp_path / "a.xlsx",
        None,
        sheets_=[("H", "hidden", hidden), ("V", "", sheet_xml(rows, prefix="x"))],
        absolute=True,
    )
    assert assert_as_calamine(path) == [[], ["", "visible", 1.0]]


def test_xlsx_is_streamed_not_read_by_calamine(tmp_path, monkeypatch):
    path = write_xlsx(tmp_path / "a.xlsx", [["姓名", "编号"], ["甲", "001"]])

    def refuse(*args, **kwargs):
        raise AssertionError("python-calamine was used")

    monkeypatch.setattr(calamine.python_calamine.CalamineWorkbook, "from_path", refuse)
    table, rows = read(path)
    assert rows == [(2, {"name": "甲", "code": "001"})]


def test_a_workbook_the_stream_does_not_understand_is_read_by_calamine(tmp_path, monkeypatch):
    path = write_xlsx(tmp_path / "a.xlsx", [["姓名", "编号"], ["甲", "001"]])

    def unknown(self):
        raise xlsx._NotStreamable("test")

    monkeypatch.setattr(xlsx._Package, "first_sheet", unknown)
    _, rows = read(path)
    assert rows == [(2, {"name": "甲", "code": "001"})]
    # A part with a DTD (which could only declare entities) is not parsed by the stream either.
    doctype = sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c></row>').replace(
        "<worksheet", '<!DOCTYPE worksheet [<!ENTITY e "x">]><worksheet'
    )
    assert xlsx._stream_xlsx(build_xlsx(tmp_path / "b.xlsx", doctype)) is None


def test_total_rows_comes_from_the_dimension(tmp_path):
    rows = '<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c></row><row r="2"><c r="A2"><v>1</v></c></row>'
    with sheets.open_table(
        build_xlsx(tmp_path / "a.xlsx", sheet_xml(rows, dimension="A1:T200001")), HEADERS
    ) as table:
        assert table.total_rows == 200_000
    with sheets.open_table(build_xlsx(tmp_path / "b.xlsx", sheet_xml(rows)), HEADERS) as table:
        assert table.total_rows is None


def test_a_sheet_damaged_after_its_first_rows_is_refused_in_chinese(tmp_path):
    good = "".join(
        f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}"><v>{r}</v></c></row>' for r in range(2, 3000)
    )
    rows = '<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c><c r="B1" t="inlineStr"><is><t>编号</t></is></c></row>'
    path = build_xlsx(
        tmp_path / "a.xlsx", sheet_xml(rows + good + '<row r="3000"><c r="A3000"><v>1</c></row>')
    )
    with (
        pytest.raises(SheetError, match="无法读取文件第 3000 行附近"),
        sheets.open_table(path, HEADERS) as table,
    ):
        for _ in table.batches(100):
            pass


def test_streaming_memory_does_not_grow_with_the_sheet(tmp_path):
    """What the reader holds while reading: a chunk and a row, not the sheet."""

    def peak(rows):
        path = tmp_path / f"{rows}.xlsx"
        book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        sheet = book.add_worksheet()
        for r in range(rows):
            sheet.write_row(r, 0, [r, f"姓名{r}", f"12010119450308{r:04d}", "天津市和平路100号", 39.1, 117.2])
        book.close()
        tracemalloc.start()
        try:
            opened = xlsx._stream_xlsx(path)
            assert opened is not None
            count = sum(1 for _ in opened[0])
            opened[2]()
            return count, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small_rows, small = peak(2_000)
    large_rows, large = peak(40_000)
    assert (small_rows, large_rows) == (2_000, 40_000)
    assert large < 2_000_000  # bytes; as Python objects the 40,000 rows alone would be ~40 MB
    assert large < small + 500_000


def test_the_shared_strings_table_is_compact(tmp_path):
    """One buffer of UTF-8 and an array of offsets, not a Python str per entry."""
    path = tmp_path / "a.xlsx"
    book = xlsxwriter.Workbook(str(path))  # XlsxWriter's default: every text in the shared table
    sheet = book.add_worksheet()
    for r in range(20_000):
        sheet.write_string(r, 0, f"张{r}")
        sheet.write_string(r, 1, f"12010119450308{r:04d}")
    book.close()
    package = xlsx._Package(path)
    tracemalloc.start()
    try:
        table = xlsx._SharedStrings.read(package, "xl/sharedStrings.xml")
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        package.zip.close()
    assert len(table) == 40_000
    assert (table[0], table[1], table[39_999]) == ("张0", "120101194503080000", "1201011945030819999")
    assert held < 1_500_000  # ~29 bytes an entry; as a list of str ~80
