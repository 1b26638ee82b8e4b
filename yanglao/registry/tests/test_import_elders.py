"""Importing elders from Excel/CSV: the same validation as the form, insert-or-update by ID number,
row-level errors, scope, idempotence, the command and the upload page."""

import json
from datetime import date, timedelta
from io import StringIO

import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from python_calamine import CalamineWorkbook

from yanglao.core import idcard
from yanglao.core.fields import lookup_value
from yanglao.core.models import AuditLog, JobProgress
from yanglao.core.testing import HOME_COMMUNITY, other_community
from yanglao.regions.models import Region
from yanglao.registry import importing, services
from yanglao.registry.models import Elder
from yanglao.registry.models_import import ImportRun

HEADER = ["姓名", "身份证号码", "现居住社区代码", "手机号码", "居住状况", "经济状况"]
_serial = iter(range(1, 10**6))


def make_id(district: str = "120101", born: date = date(1945, 3, 8), male: bool = True) -> str:
    sequence = (next(_serial) * 2 + (1 if male else 0)) % 1000
    first17 = f"{district}{born:%Y%m%d}{sequence:03d}"
    return first17 + idcard.check_character(first17)


def write_xlsx(path, rows, *, date_columns=()):
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("老年人信息")
    as_date = book.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, date):
                sheet.write_datetime(r, c, value, as_date)
            elif isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write(r, c, value)
    book.close()
    return path


def read_errors(path):
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("错误明细")
    rows = sheet.to_python()
    assert rows[0] == ["行号", "列", "值", "问题"]
    return [(int(r[0]), r[1], r[2], r[3]) for r in rows[1:]]


def home_street_neighbour() -> str:
    """Another community of the community worker's street: in the district, outside the worker's scope."""
    return (
        Region.objects.filter(code__startswith="120101001", level="community")
        .exclude(code=HOME_COMMUNITY)
        .order_by("code")
        .first()
        .code
    )


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_headers_in_any_order_create_elders_with_facts_from_the_id(cast, tmp_path):
    number = make_id(born=date(1938, 11, 2), male=False)
    path = write_xlsx(
        tmp_path / "a.xlsx",
        [
            ["经济状况", "现居住社区代码", "姓名", "居住状况", "身份证号码", "手机号码"],
            ["低保", HOME_COMMUNITY, "王秀英", "独居", number, "13812345678"],
        ],
    )
    result = importing.elders_import(actor=cast.community_worker, path=path)
    assert result.counts() == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 0}
    elder = Elder.objects.get(id_number_hash=lookup_value(Elder, "id_number", number))
    assert (elder.name, elder.residence_region_id, elder.phone) == ("王秀英", HOME_COMMUNITY, "13812345678")
    assert (elder.living_arrangement, elder.economic_status) == ("alone", "subsistence")
    assert (elder.birth_date, elder.sex, elder.status) == (date(1938, 11, 2), "female", "active")
    assert elder.registered_by == cast.community_worker
    assert elder.phone_hash == lookup_value(Elder, "phone", "138 1234 5678")
    assert AuditLog.objects.filter(action="elder.import", actor=cast.community_worker).count() == 1


def test_an_unknown_header_is_reported_and_nothing_is_imported(cast, tmp_path):
    path = write_xlsx(
        tmp_path / "a.xlsx",
        [
            ["姓名", "身份证号码", "现居住社区代码", "手机号"],
            ["王秀英", make_id(), HOME_COMMUNITY, "13812345678"],
        ],
    )
    errors = tmp_path / "errors.xlsx"
    result = importing.elders_import(actor=cast.district_staff, path=path, errors_path=errors)
    assert [p.problem for p in result.header_problems] == [
        "未知的列名“手机号”：请使用模板中的列名，或删除该列"
    ]
    assert result.counts() == {"created": 0, "updated": 0, "unchanged": 0, "rejected": 1}
    assert Elder.objects.count() == 0
    assert read_errors(errors) == [
        (1, "手机号", "手机号", "未知的列名“手机号”：请使用模板中的列名，或删除该列")
    ]


def test_a_missing_required_header_rejects_the_file(cast, tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [["姓名", "身份证号码"], ["王秀英", make_id()]])
    result = importing.elders_import(actor=cast.district_staff, path=path)
    assert [p.problem for p in result.header_problems] == ["缺少必填列“现居住社区代码”"]
    assert result.rejected == 1
    assert Elder.objects.count() == 0


def test_a_serial_number_column_and_a_title_row_above_the_header_are_accepted(cast, tmp_path):
    path = write_xlsx(
        tmp_path / "a.xlsx",
        [
            ["和平区劝业场街道老年人信息表"],
            [],
            ["序号", "姓 名", "身份证号码*", "现居住社区代码"],
            [1, "王秀英", make_id(), HOME_COMMUNITY],
            [2, "李", "123", HOME_COMMUNITY],
        ],
    )
    result = importing.elders_import(actor=cast.district_staff, path=path)
    assert (result.created, result.rejected) == (1, 1)
    assert [(e.row, e.column) for e in result.errors] == [(5, "身份证号码")]


def test_a_15_digit_id_number_is_converted_to_18(cast, tmp_path):
    old = "120101450308123"
    path = write_xlsx(tmp_path / "a.xlsx", [HEADER[:3], ["张建国", old, HOME_COMMUNITY]])
    assert importing.elders_import(actor=cast.district_staff, path=path).created == 1
    elder = Elder.objects.get()
    assert elder.id_number == idcard.normalize(old)
    assert len(elder.id_number) == 18
    assert elder.birth_date == date(1945, 3, 8)


def test_a_wrong_check_character_is_rejected_in_chinese(cast, tmp_path):
    good = make_id()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    path = write_xlsx(tmp_path / "a.xlsx", [HEADER[:3], ["张建国", bad, HOME_COMMUNITY]])
    result = importing.elders_import(actor=cast.district_staff, path=path)
    assert result.rejected == 1
    assert [(e.row, e.column, e.value, e.problem) for e in result.errors] == [
        (2, "身份证号码", bad, "身份证号码校验位错误，请核对号码是否抄错")
    ]


def test_birth_dates_as_excel_serial_numbers_date_cells_or_text_are_checked_against_the_id(cast, tmp_path):
    born = date(1945, 3, 8)
    serial = (born - date(1899, 12, 30)).days
    rows = [
        ["姓名", "身份证号码", "现居住社区代码", "出生日期", "性别"],
        ["甲", make_id(born=born), HOME_COMMUNITY, serial, "男"],
        ["乙", make_id(born=born), HOME_COMMUNITY, born, "male"],
        ["丙", make_id(born=born), HOME_COMMUNITY, "1945年3月8日", ""],
        ["丁", make_id(born=born), HOME_COMMUNITY, serial + 1, "男"],
        ["戊", make_id(born=born), HOME_COMMUNITY, "", "女"],
        ["己", make_id(born=born), HOME_COMMUNITY, "1945-13-01", ""],
    ]
    result = importing.elders_import(actor=cast.district_staff, path=write_xlsx(tmp_path / "a.xlsx", rows))
    assert result.created == 3
    assert [(e.row, e.column, e.problem) for e in result.errors] == [
        (5, "出生日期", "出生日期与身份证号码不符（按身份证号码应为1945-03-08）"),
        (6, "性别", "性别与身份证号码不符（按身份证号码应为男）"),
        (7, "出生日期", "出生日期“1945-13-01”不是有效的日期"),
    ]


def test_full_width_characters_and_stray_spaces_are_normalised(cast, tmp_path):
    number = make_id()
    wide = number.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    path = write_xlsx(
        tmp_path / "a.xlsx",
        [
            HEADER,
            [
                " 王 秀英 ",
                f" {wide[:6]} {wide[6:]} ",
                "１２０１０１００１００１ ",
                "１３８ １２３４ ５６７８",
                " 独居 ",
                "低保　",
            ],
        ],
    )
    result = importing.elders_import(actor=cast.district_staff, path=path)
    assert result.errors == []
    elder = Elder.objects.get()
    assert (elder.name, elder.id_number, elder.residence_region_id) == ("王秀英", number, HOME_COMMUNITY)
    assert (elder.phone, elder.living_arrangement, elder.economic_status) == (
        "13812345678",
        "alone",
        "subsistence",
    )


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_files_in_gb18030_or_utf8_with_or_without_bom(cast, tmp_path, encoding):
    number = make_id()
    text = "\r\n".join([",".join(HEADER), f"王秀英,{number},{HOME_COMMUNITY},13812345678,空巢,特困"]) + "\r\n"
    path = tmp_path / "a.csv"
    path.write_bytes(text.encode(encoding))
    result = importing.elders_import(actor=cast.district_staff, path=path)
    assert result.counts()["created"] == 1, result.errors
    elder = Elder.objects.get()
    assert (elder.name, elder.living_arrangement, elder.economic_status) == (
        "王秀英",
        "empty_nest",
        "destitute",
    )


def test_enumerations_by_chinese_label_or_code_and_a_wrong_one_is_explained(cast, tmp_path):
    rows = [
        [
            "姓名",
            "身份证号码",
            "现居住社区代码",
            "居住状况",
            "婚姻状况",
            "计划生育特殊家庭",
            "残疾类别",
            "残疾等级",
        ],
        ["甲", make_id(), HOME_COMMUNITY, "alone", "丧偶", "是", "肢体残疾", 2],
        ["乙", make_id(), HOME_COMMUNITY, "空巢", "married", "否", "", ""],
        ["丙", make_id(), HOME_COMMUNITY, "独自居住", "", "", "", ""],
        ["丁", make_id(), HOME_COMMUNITY, "", "", "也许", "", 3],
    ]
    result = importing.elders_import(actor=cast.district_staff, path=write_xlsx(tmp_path / "a.xlsx", rows))
    assert result.created == 2
    first = Elder.objects.get(name="甲")
    assert (first.living_arrangement, first.marital_status, first.special_family) == (
        "alone",
        "widowed",
        True,
    )
    assert (first.disability_category, first.disability_grade) == ("physical", 2)
    assert Elder.objects.get(name="乙").marital_status == "married"
    assert [(e.row, e.column, e.problem) for e in result.errors] == [
        (4, "居住状况", "“独自居住”不是有效的选项，可填：独居、空巢、留守、与家人同住"),
        (5, "计划生育特殊家庭", "“也许”应填“是”或“否”"),
        (5, "残疾类别", "填写了残疾等级，请同时填写残疾类别"),
    ]


def test_phone_numbers_are_validated(cast, tmp_path):
    rows = [
        HEADER[:4],
        ["甲", make_id(), HOME_COMMUNITY, 13812345678],
        ["乙", make_id(), HOME_COMMUNITY, "022-2345 6789"],
        ["丙", make_id(), HOME_COMMUNITY, "1381234567"],
        ["丁", make_id(), HOME_COMMUNITY, ""],
    ]
    result = importing.elders_import(actor=cast.district_staff, path=write_xlsx(tmp_path / "a.xlsx", rows))
    assert result.created == 3
    assert Elder.objects.get(name="甲").phone == "13812345678"
    assert Elder.objects.get(name="乙").phone == "02223456789"
    assert Elder.objects.get(name="丁").phone == ""
    assert [(e.row, e.column, e.value) for e in result.errors] == [(4, "手机号码", "1381234567")]
    assert result.errors[0].problem.startswith("电话号码格式不正确")


def test_a_community_code_that_does_not_exist_is_rejected(cast, tmp_path):
    rows = [HEADER[:3], ["甲", make_id(), "120101001999"], ["乙", make_id(), "1201"]]
    result = importing.elders_import(actor=cast.district_staff, path=write_xlsx(tmp_path / "a.xlsx", rows))
    assert result.rejected == 2
    assert [e.column for e in result.errors] == ["现居住社区代码", "现居住社区代码"]
    assert "不存在" in result.errors[0].problem


def test_the_second_row_with_an_id_number_is_rejected_naming_the_first(cast, tmp_path):
    number = make_id()
    old_form = number[:6] + number[8:17]  # the same person's 15-digit number
    rows = [
        HEADER[:3],
        ["甲", number, HOME_COMMUNITY],
        ["乙", make_id(), HOME_COMMUNITY],
        ["甲", old_form, HOME_COMMUNITY],
    ]
    result = importing.elders_import(actor=cast.district_staff, path=write_xlsx(tmp_path / "a.xlsx", rows))
    assert (result.created, result.rejected) == (2, 1)
    assert [(e.row, e.column, e.problem) for e in result.errors] == [
        (4, "身份证号码", "身份证号码与第2行重复（同一人只能出现一次）")
    ]


@pytest.mark.parametrize("batch_size", [2, 3, 1000])
def test_a_repeated_id_number_names_the_row_it_first_appeared_on_across_batches(cast, tmp_path, batch_size):
    first, second, third, fourth = make_id(), make_id(), make_id(), make_id()
    rows = [
        HEADER[:4],
        ["甲", first, HOME_COMMUNITY, ""],  # 2
        ["乙", second, HOME_COMMUNITY, ""],  # 3
        ["丙", third, HOME_COMMUNITY, "123"],  # 4: rejected for its phone, but it is where the number began
        ["甲", first, HOME_COMMUNITY, ""],  # 5
        ["丙", third, HOME_COMMUNITY, ""],  # 6
        ["丁", fourth, HOME_COMMUNITY, ""],  # 7
        ["丁", fourth, HOME_COMMUNITY, ""],  # 8
        ["乙", second[:6] + second[8:17], HOME_COMMUNITY, ""],  # 9: the same person's 15-digit number
        ["乙", second, HOME_COMMUNITY, "123"],  # 10: a wrong phone, and a repeat
    ]
    path = write_xlsx(tmp_path / "a.xlsx", rows)
    result = importing.elders_import(actor=cast.district_staff, path=path, batch_size=batch_size)
    assert (result.created, result.rejected) == (3, 6)
    repeated = "身份证号码与第{}行重复（同一人只能出现一次）".format
    assert [(e.row, e.column, e.problem) for e in result.errors] == [
        (4, "手机号码", result.errors[0].problem),
        (5, "身份证号码", repeated(2)),
        (6, "身份证号码", repeated(4)),
        (8, "身份证号码", repeated(7)),
        (9, "身份证号码", repeated(3)),
        (10, "身份证号码", repeated(3)),
        (10, "手机号码", result.errors[6].problem),
    ]
    assert sorted(Elder.objects.values_list("name", flat=True)) == ["丁", "乙", "甲"]


def test_many_new_rows_are_inserted_in_chunks_with_every_value(cast, tmp_path, monkeypatch):
    monkeypatch.setattr(importing.elders, "_INSERT_CHUNK", 3)
    people = [(f"老人{chr(0x4E00 + i)}", make_id(), f"1381234{i:04d}") for i in range(10)]
    rows = [HEADER[:4], *[[name, number, HOME_COMMUNITY, phone] for name, number, phone in people]]
    path = write_xlsx(tmp_path / "a.xlsx", rows)
    result = importing.elders_import(actor=cast.district_staff, path=path, batch_size=7)
    assert result.counts() == {"created": 10, "updated": 0, "unchanged": 0, "rejected": 0}
    stored = {e.id_number: (e.name, e.phone, e.residence_region_id) for e in Elder.objects.all()}
    assert stored == {number: (name, phone, HOME_COMMUNITY) for name, number, phone in people}


def test_a_community_worker_cannot_import_outside_their_community(cast, tmp_path):
    elsewhere = services.elder_register(
        actor="tests", name="赵大爷", id_number=make_id("120102"), residence_region=other_community()
    )
    rows = [
        HEADER[:3],
        ["甲", make_id(), HOME_COMMUNITY],
        ["赵大爷", elsewhere.id_number, HOME_COMMUNITY],
        ["乙", make_id(), home_street_neighbour()],
    ]
    result = importing.elders_import(actor=cast.community_worker, path=write_xlsx(tmp_path / "a.xlsx", rows))
    assert (result.created, result.rejected) == (1, 2)
    assert [e.row for e in result.errors] == [3, 4]  # in row order, though found at different steps
    problems = {e.row: e.problem for e in result.errors}
    assert problems[4] == f"现居住社区 {home_street_neighbour()} 不在您的管辖范围内"
    # The elder elsewhere is neither moved nor described.
    assert "赵大爷" not in problems[3] and other_community() not in problems[3]
    assert problems[3].startswith("该身份证号码已有档案，且不在您的管辖范围内")
    elsewhere.refresh_from_db()
    assert elsewhere.residence_region_id == other_community()


def test_a_role_without_the_import_permission_is_refused(cast, tmp_path):
    from yanglao.core.errors import PermissionDenied

    path = write_xlsx(tmp_path / "a.xlsx", [HEADER[:3], ["甲", make_id(), HOME_COMMUNITY]])
    with pytest.raises(PermissionDenied):
        importing.elders_import(actor=cast.care_worker, path=path)
    assert Elder.objects.count() == 0


def test_importing_the_same_file_again_changes_nothing(cast, tmp_path):
    rows = [
        HEADER + ["子女数", "认知障碍", "纬度", "经度"],
        *[
            [
                f"老人{chr(0x4E00 + i)}",
                make_id(),
                HOME_COMMUNITY,
                f"1381234{i:04d}",
                "独居",
                "一般",
                2,
                "否",
                39.1,
                117.2,
            ]
            for i in range(30)
        ],
        ["坏", "123", HOME_COMMUNITY, "", "", "", "", "", "", ""],
    ]
    path = write_xlsx(tmp_path / "a.xlsx", rows)
    first = importing.elders_import(actor=cast.community_worker, path=path, batch_size=7)
    assert first.counts() == {"created": 30, "updated": 0, "unchanged": 0, "rejected": 1}
    audit_rows = AuditLog.objects.count()
    stamps = dict(Elder.objects.values_list("id", "updated_at"))
    second = importing.elders_import(actor=cast.community_worker, path=path, batch_size=7)
    assert second.counts() == {"created": 0, "updated": 0, "unchanged": 30, "rejected": 1}
    assert AuditLog.objects.count() == audit_rows
    assert dict(Elder.objects.values_list("id", "updated_at")) == stamps


def test_a_changed_row_is_updated_and_a_blank_cell_keeps_the_stored_value(cast, tmp_path):
    elder = services.elder_register(
        actor="tests",
        name="王秀英",
        id_number=make_id(),
        residence_region=HOME_COMMUNITY,
        phone="13812345678",
        living_arrangement="alone",
        address="和平路1号",
    )
    same = services.elder_register(
        actor="tests", name="李桂兰", id_number=make_id(), residence_region=HOME_COMMUNITY
    )
    rows = [
        HEADER + ["现居住地址"],
        ["王秀英", elder.id_number, HOME_COMMUNITY, "13900001111", "", "低保", ""],
        ["李桂兰", same.id_number, HOME_COMMUNITY, "", "", "", ""],
    ]
    result = importing.elders_import(actor=cast.community_worker, path=write_xlsx(tmp_path / "a.xlsx", rows))
    assert result.counts() == {"created": 0, "updated": 1, "unchanged": 1, "rejected": 0}
    elder.refresh_from_db()
    assert (elder.phone, elder.economic_status) == ("13900001111", "subsistence")
    assert (elder.living_arrangement, elder.address) == ("alone", "和平路1号")  # blank cells: unchanged
    assert Elder.objects.filter(phone_hash=lookup_value(Elder, "phone", "13900001111")).get() == elder
    log = AuditLog.objects.get(action="elder.import")
    assert log.changes["after"]["updated"] == 1
    assert log.changes["after"]["changed_fields"] == {str(elder.pk): ["economic_status", "phone"]}


def test_the_error_workbook_lists_row_column_value_and_problem(cast, tmp_path):
    rows = [
        HEADER,
        ["甲", make_id(), HOME_COMMUNITY, "13812345678", "独居", "一般"],
        ["", "120101194503081230", "12010100100", "123", "独居", "富裕"],
    ]
    errors = tmp_path / "out" / "errors.xlsx"
    result = importing.elders_import(
        actor=cast.district_staff, path=write_xlsx(tmp_path / "a.xlsx", rows), errors_path=errors
    )
    assert result.errors_path == str(errors)
    listed = read_errors(errors)
    assert [(row, column, value) for row, column, value, _ in listed] == [
        (3, "姓名", ""),
        (3, "身份证号码", "120101194503081230"),
        (3, "现居住社区代码", "12010100100"),
        (3, "手机号码", "123"),
        (3, "经济状况", "富裕"),
    ]
    assert listed[0][3] == "请填写姓名"
    assert listed[4][3].startswith("“富裕”不是有效的选项")
    summary = dict(CalamineWorkbook.from_path(str(errors)).get_sheet_by_name("汇总").to_python()[1:])
    assert (summary["新增"], summary["错误行数"], summary["错误条数"]) == (1, 1, 5)


def test_a_file_with_only_bad_rows_writes_nothing(cast, tmp_path):
    rows = [HEADER[:3], ["甲", "1", HOME_COMMUNITY], ["", make_id(), ""], ["丙", make_id(), "abc"]]
    result = importing.elders_import(actor=cast.district_staff, path=write_xlsx(tmp_path / "a.xlsx", rows))
    assert result.counts() == {"created": 0, "updated": 0, "unchanged": 0, "rejected": 3}
    assert Elder.objects.count() == 0
    assert not AuditLog.objects.filter(action="elder.import").exists()


def test_progress_is_reported_under_the_job_id(cast, tmp_path):
    rows = [HEADER[:3], *[["甲", make_id(), HOME_COMMUNITY] for _ in range(12)]]
    importing.elders_import(
        actor=cast.district_staff, path=write_xlsx(tmp_path / "a.xlsx", rows), job_id="imp-1", batch_size=5
    )
    job = JobProgress.objects.get(job_id="imp-1")
    assert (job.state, job.percent, job.owner) == ("done", 100, cast.district_staff)
    assert job.message == "新增 12，更新 0，未变 0，错误 0 行"


def test_an_unreadable_file_is_refused_in_chinese(cast, tmp_path):
    from yanglao.core.errors import InvalidInput

    path = tmp_path / "a.xlsx"
    path.write_bytes(b"not a spreadsheet")
    with pytest.raises(InvalidInput, match="无法读取文件"):
        importing.elders_import(actor=cast.district_staff, path=path)


# --- the command -----------------------------------------------------------------------------------
def test_the_command_prints_one_json_line_and_writes_the_error_workbook(db, tmp_path):
    rows = [
        HEADER[:3],
        ["甲", make_id(), HOME_COMMUNITY],
        ["乙", make_id(), other_community()],
        ["丙", "x", HOME_COMMUNITY],
    ]
    path = write_xlsx(tmp_path / "a.xlsx", rows)
    out = StringIO()
    call_command("import_elders", str(path), "--json", "--errors", str(tmp_path / "e.xlsx"), stdout=out)
    assert json.loads(out.getvalue()) == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    assert [row for row, *_ in read_errors(tmp_path / "e.xlsx")] == [4]
    assert AuditLog.objects.get(action="elder.import").actor_name == "import_elders"
    again = StringIO()
    call_command("import_elders", str(path), "--json", stdout=again)
    assert json.loads(again.getvalue()) == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 1}


def test_the_command_as_a_user_keeps_to_their_region_and_says_what_it_did(cast, tmp_path):
    rows = [HEADER[:3], ["甲", make_id(), HOME_COMMUNITY], ["乙", make_id(), other_community()]]
    out = StringIO()
    call_command(
        "import_elders", str(write_xlsx(tmp_path / "a.xlsx", rows)), "--user", "community_worker", stdout=out
    )
    text = out.getvalue()
    assert "新增 1" in text and "错误 1 行" in text
    assert "第3行 现居住社区代码" in text


def test_the_command_fails_on_wrong_headers_or_a_missing_file(db, tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [["姓名", "身份证"], ["甲", make_id()]])
    with pytest.raises(CommandError, match="表头有误.*未知的列名“身份证”"):
        call_command("import_elders", str(path))
    with pytest.raises(CommandError, match="文件不存在"):
        call_command("import_elders", str(tmp_path / "none.xlsx"))
    with pytest.raises(CommandError, match="不存在或已停用"):
        call_command("import_elders", str(path), "--user", "nobody")


# --- the page ----------------------------------------------------------------------------------------
def _upload(client, name, content, kind="elders"):
    return client.post(
        reverse("registry:import"),
        {"kind": kind, "file": SimpleUploadedFile(name, content)},
    )


def test_the_upload_page_imports_in_the_background_and_shows_the_counts(cast, client, tmp_path, media):
    client.force_login(cast.community_worker)
    page = client.get(reverse("registry:import"))
    assert page.status_code == 200
    assert reverse("registry:import_template") in page.content.decode()
    rows = [HEADER[:3], ["甲", make_id(), HOME_COMMUNITY], ["乙", "123", HOME_COMMUNITY]]
    content = write_xlsx(tmp_path / "a.xlsx", rows).read_bytes()
    response = _upload(client, "社区老人.xlsx", content)
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert (run.state, run.owner, run.file_name) == ("done", cast.community_worker, "社区老人.xlsx")
    assert response.url == reverse("registry:import_status", args=[run.job_id])
    status = client.get(response.url)
    html = status.content.decode()
    assert 'data-count="created">1<' in html and 'data-count="rejected">1<' in html
    assert 'aria-valuenow="100"' in html  # the progress bar, done
    fragment = client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith("<div") and "hx-trigger" not in fragment.split(">", 1)[0]
    download = client.get(reverse("registry:import_errors", args=[run.job_id]))
    assert download.status_code == 200
    errors = tmp_path / "downloaded.xlsx"
    errors.write_bytes(b"".join(download.streaming_content))
    assert [(row, column) for row, column, *_ in read_errors(errors)] == [(3, "身份证号码")]
    assert "社区老人.xlsx" in client.get(reverse("registry:import")).content.decode()  # recent imports
    # The uploaded list of ID numbers is not kept once imported; the error workbook is.
    assert [p.name.endswith("-errors.xlsx") for p in (media / "imports").iterdir()] == [True]

    client.force_login(cast.other_community_worker)
    assert client.get(reverse("registry:import_errors", args=[run.job_id])).status_code == 404
    assert client.get(reverse("registry:import_status", args=[run.job_id])).status_code == 404


def test_the_upload_page_refuses_other_file_types_and_users_without_the_permission(cast, client, media):
    client.force_login(cast.community_worker)
    response = _upload(client, "名单.docx", b"PK\x03\x04")
    assert response.status_code == 400
    assert "只能上传 Excel（.xlsx、.xls）或 CSV（.csv）文件" in response.content.decode()
    assert ImportRun.objects.count() == 0
    client.force_login(cast.care_worker)
    assert client.get(reverse("registry:import")).status_code == 403
    assert _upload(client, "a.csv", b"x").status_code == 403


def test_the_upload_page_shows_wrong_headers_clearly(cast, client, media):
    client.force_login(cast.district_staff)
    content = "姓名,身份证号\r\n甲,1\r\n".encode("gb18030")
    response = _upload(client, "a.csv", content)
    html = client.get(response.url).content.decode()
    assert "表头有误" in html
    assert "缺少必填列“身份证号码”" in html and "未知的列名“身份证号”" in html


def test_the_template_has_the_chinese_headers_hints_and_codes(cast, client, tmp_path):
    client.force_login(cast.community_worker)
    response = client.get(reverse("registry:import_template"))
    assert response.status_code == 200
    assert "filename*=utf-8''%E8%80%81" in response["Content-Disposition"]
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"".join(response.streaming_content))
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == ["老年人信息", "填写说明", "代码表", "社区代码"]
    headers = book.get_sheet_by_name("老年人信息").to_python()[0]
    assert headers[:3] == ["姓名", "身份证号码", "现居住社区代码"] and "居住状况" in headers
    codes = book.get_sheet_by_name("代码表").to_python()
    assert ["居住状况", "独居", "alone"] in codes
    communities = book.get_sheet_by_name("社区代码").to_python()
    assert [row[0] for row in communities[1:]] == [HOME_COMMUNITY]  # the worker's own community
    # The template, filled in, imports.
    book_rows = [headers, ["王秀英", make_id(), HOME_COMMUNITY] + [""] * (len(headers) - 3)]
    result = importing.elders_import(
        actor=cast.community_worker, path=write_xlsx(tmp_path / "f.xlsx", book_rows)
    )
    assert result.created == 1


def test_dates_are_not_accepted_in_the_future(cast, tmp_path):
    tomorrow = date.today() + timedelta(days=2)
    born = date(1950, 1, 1)
    rows = [
        ["姓名", "身份证号码", "现居住社区代码", "出生日期"],
        ["甲", make_id(born=born), HOME_COMMUNITY, tomorrow],
    ]
    result = importing.elders_import(actor=cast.district_staff, path=write_xlsx(tmp_path / "a.xlsx", rows))
    assert result.rejected == 1
    assert "晚于今天" in result.errors[0].problem


def test_each_imported_batch_is_announced_after_commit(cast, tmp_path, django_capture_on_commit_callbacks):
    from datetime import date

    from yanglao.registry import importing, signals
    from yanglao.registry.tests.conftest import make_id

    heard = []
    signals.elders_imported.connect(
        lambda sender, created, updated, **kw: heard.append((len(created), len(updated))),
        weak=False,
        dispatch_uid="test-import-signal",
    )
    path = tmp_path / "elders.csv"
    path.write_text(
        "姓名,身份证号码,现居住社区代码\n"
        f"甲,{make_id('120101', date(1940, 1, 1))},120101001001\n"
        f"乙,{make_id('120101', date(1941, 1, 1))},120101001001\n",
        encoding="utf-8",
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            importing.elders_import(actor=cast.community_worker, path=path)
    finally:
        signals.elders_imported.disconnect(dispatch_uid="test-import-signal")
    assert heard == [(2, 0)]
