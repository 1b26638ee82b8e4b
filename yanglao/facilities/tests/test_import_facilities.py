"""`yanglao import_facilities` and facilities_import: the service's rules per row, the shared error
workbook, matching by region and name, and a second import of the same file changing nothing."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from yanglao.core.errors import PermissionDenied
from yanglao.core.testing import read_errors, write_xlsx
from yanglao.facilities import importing
from yanglao.facilities.models import Facility

HEADER = [
    "设施名称",
    "设施类别",
    "所在区域代码",
    "运营模式",
    "床位数",
    "在住人数",
    "服务项目",
    "运营机构统一社会信用代码",
    "备注",
]


def rows():
    return [
        HEADER,
        [
            "花园路社区日间照料中心",
            "社区日间照料中心",
            "120101001001",
            "公办公营",
            None,
            None,
            "日托、助餐",
            None,
            None,
        ],
        [
            "劝业场街道养老服务中心",
            "street_centre",
            "120101001",
            "公办公营",
            None,
            None,
            "助餐",
            None,
            "面积待补",
        ],
        ["不存在类别的中心", "养老城堡", "120101001001", "公办公营", None, None, None, None, None],
        ["床位不对的养老院", "养老机构", "120101001", "公办公营", 10, 20, None, None, None],
        [
            "没登记运营方的驿站",
            "养老服务驿站",
            "120101001001",
            "民办",
            None,
            None,
            None,
            "91120000MA00000000",
            None,
        ],
    ]


def run(tmp_path, name="f.xlsx", data=None, actor="tests"):
    path = write_xlsx(tmp_path / name, data or rows())
    return importing.facilities_import(actor=actor, path=path, errors_path=tmp_path / f"{name}-errors.xlsx")


def test_good_rows_are_kept_and_bad_rows_reported_with_row_column_and_problem(cast, tmp_path):
    result = run(tmp_path)
    kept = set(Facility.objects.values_list("name", flat=True))
    assert "花园路社区日间照料中心" in kept
    assert "不存在类别的中心" not in kept and "床位不对的养老院" not in kept
    assert result.created == len(kept) and result.rejected >= 3
    errors = read_errors(result.errors_path)
    by_row = {}
    for row, column, value, problem in errors:
        by_row.setdefault(row, []).append((column, value, problem))
    assert any(col == "设施类别" and "不存在" in p for col, _, p in by_row[4])
    assert any(col == "在住人数" or col == "床位数" for col, _, _ in by_row[5])
    assert any(col == "运营机构统一社会信用代码" and "尚未登记" in p for col, _, p in by_row[6])


def test_importing_the_same_file_twice_changes_nothing_and_a_changed_cell_updates(cast, tmp_path):
    first = run(tmp_path)
    second = run(tmp_path, "again.xlsx")
    assert (second.created, second.updated) == (0, 0)
    assert second.unchanged == first.created
    changed = rows()[:2]
    changed[1][8] = "已改备注"
    third = run(tmp_path, "changed.xlsx", changed)
    assert third.counts() == {"created": 0, "updated": 1, "unchanged": 0, "rejected": 0}
    assert Facility.objects.get(name="花园路社区日间照料中心").note == "已改备注"


def test_an_unknown_header_takes_nothing_from_the_file(cast, tmp_path):
    data = rows()
    data[0] = [*HEADER[:-1], "颜色"]
    result = run(tmp_path, data=data)
    assert not Facility.objects.exists()
    assert [p.problem for p in result.header_problems] == ["未知的列名“颜色”：请使用模板中的列名，或删除该列"]


def test_the_command_prints_one_json_line(cast, tmp_path):
    path = write_xlsx(tmp_path / "c.xlsx", rows())
    out = io.StringIO()
    call_command("import_facilities", str(path), "--json", stdout=out)
    counts = json.loads(out.getvalue())
    assert set(counts) == {"created", "updated", "unchanged", "rejected"} and counts["created"] >= 1
    with pytest.raises(CommandError, match="文件不存在"):
        call_command("import_facilities", str(tmp_path / "missing.xlsx"))


def test_people_import_within_their_permission_and_region(cast, tmp_path):
    with pytest.raises(PermissionDenied):
        run(tmp_path, actor=cast.community_worker)
    other = run(tmp_path, "other.xlsx", actor=cast.other_district_staff)
    assert other.created == 0 and other.rejected == len(rows()) - 1


def test_the_template_has_the_headers_and_the_accepted_values(db):
    from python_calamine import CalamineWorkbook

    data = importing.template_workbook()
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    header = book.get_sheet_by_name("养老设施").to_python()[0]
    assert "设施名称*" in header and "服务项目" in header
    values = dict(book.get_sheet_by_name("可选值").to_python()[1:])
    assert "社区日间照料中心" in values["设施类别"]


def test_a_region_code_typed_as_a_number_still_matches_on_the_second_import(cast, tmp_path):
    data = [HEADER[:4], ["数字代码中心", "社区日间照料中心", 120101001001, "公办公营"]]
    assert run(tmp_path, "n1.xlsx", data).created == 1
    assert run(tmp_path, "n2.xlsx", data).counts() == {
        "created": 0,
        "updated": 0,
        "unchanged": 1,
        "rejected": 0,
    }
