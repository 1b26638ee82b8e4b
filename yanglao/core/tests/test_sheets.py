"""The generic table reader and error workbook that every app's import uses (core/sheets.py)."""

from datetime import date, datetime

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from yanglao.core import sheets
from yanglao.core.sheets import ErrorWorkbook, RowError, SheetError

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
