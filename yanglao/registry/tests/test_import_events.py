"""Importing life events from another department's file: one service call per row (source "file"),
the same error workbook as the elder import, and a second import of the same file changes nothing."""

import json
from datetime import date
from io import StringIO

import xlsxwriter
from django.core.management import call_command
from python_calamine import CalamineWorkbook

from yanglao.core import idcard
from yanglao.core.models import AuditLog
from yanglao.core.testing import HOME_COMMUNITY, other_community
from yanglao.regions.models import Region
from yanglao.registry import importing, services
from yanglao.registry.models import Elder, LifeEvent

HEADER = ["身份证号码", "事件类型", "发生日期", "迁入社区代码", "备注"]
_serial = iter(range(1, 10**6))
DAY = date(2026, 3, 1)
SERIAL = (DAY - date(1899, 12, 30)).days


def make_id(district: str = "120101") -> str:
    first17 = f"{district}19450308{next(_serial) % 1000:03d}"
    return first17 + idcard.check_character(first17)


def elder_in(region: str = HOME_COMMUNITY, name: str = "张建国") -> Elder:
    return services.elder_register(
        actor="tests", name=name, id_number=make_id(region[:6]), residence_region=region
    )


def write_xlsx(path, rows):
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    as_date = book.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(r, c, value, as_date)
            elif isinstance(value, str):
                sheet.write_string(r, c, value)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return path


def test_events_by_label_or_code_and_excel_dates_are_recorded_from_the_file(cast, tmp_path):
    dead, ill, moving = elder_in(name="甲"), elder_in(name="乙"), elder_in(name="丙")
    rows = [
        ["备注", "发生日期", "事件类型", "身份证号码", "迁入社区代码"],
        ["卫健委死亡数据", SERIAL, "死亡", dead.id_number, ""],
        ["", DAY, "hospital_admission", ill.id_number, ""],
        ["", "2026/3/2", "市内迁居", moving.id_number, other_community()],
    ]
    result = importing.events_import(actor=cast.district_staff, path=write_xlsx(tmp_path / "e.xlsx", rows))
    assert result.counts() == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    dead.refresh_from_db()
    ill.refresh_from_db()
    moving.refresh_from_db()
    assert (dead.status, dead.death_date) == ("deceased", DAY)
    assert ill.status == "in_hospital"
    assert moving.residence_region_id == other_community()
    assert set(LifeEvent.objects.values_list("source", flat=True)) == {"file"}
    assert LifeEvent.objects.get(elder=dead).note == "卫健委死亡数据"


def test_importing_the_same_event_file_twice_changes_nothing(cast, tmp_path):
    elder = elder_in()
    path = write_xlsx(tmp_path / "e.xlsx", [HEADER, [elder.id_number, "住院", DAY, "", ""]])
    assert importing.events_import(actor=cast.community_worker, path=path).created == 1
    audit_rows = AuditLog.objects.count()
    again = importing.events_import(actor=cast.community_worker, path=path)
    assert again.counts() == {"created": 0, "updated": 0, "unchanged": 1, "rejected": 0}
    assert LifeEvent.objects.count() == 1
    assert AuditLog.objects.count() == audit_rows


def test_rows_the_service_or_the_cleaners_refuse_come_back_in_the_error_workbook(cast, tmp_path):
    alive, dead = elder_in(name="甲"), elder_in(name="乙")
    services.elder_record_event(actor="tests", elder=dead, kind="death", on=DAY)
    elsewhere = elder_in(other_community(), name="丙")
    rows = [
        HEADER,
        [alive.id_number, "出院", DAY, "", ""],  # not in hospital
        [dead.id_number, "住院", DAY, "", ""],  # already dead
        [alive.id_number, "更正（撤销事件）", DAY, "", ""],
        [alive.id_number, "失踪", DAY, "", ""],
        [alive.id_number, "死亡", "2026-02-30", "", ""],
        [make_id(), "死亡", DAY, "", ""],  # nobody registered
        [elsewhere.id_number, "死亡", DAY, "", ""],  # outside the worker's community
        [alive.id_number, "市内迁居", DAY, "", ""],  # where to?
        [alive.id_number[:17] + "0" if alive.id_number[17] != "0" else "1", "死亡", DAY, "", ""],
    ]
    errors = tmp_path / "errors.xlsx"
    result = importing.events_import(
        actor=cast.community_worker, path=write_xlsx(tmp_path / "e.xlsx", rows), errors_path=errors
    )
    assert result.counts() == {"created": 0, "updated": 0, "unchanged": 0, "rejected": 9}
    listed = CalamineWorkbook.from_path(str(errors)).get_sheet_by_name("错误明细").to_python()
    assert listed[0] == ["行号", "列", "值", "问题"]
    problems = {int(row): (column, problem) for row, column, _, problem in listed[1:]}
    assert problems[2] == ("事件类型", "当前状态为“在册”，不能登记“出院”")
    assert problems[3][1].startswith("该老人已登记死亡")
    assert problems[4] == ("事件类型", "更正（撤销事件）不能通过文件导入，请在老人档案页面上操作")
    assert problems[5][0] == "事件类型" and "可填：死亡、住院" in problems[5][1]
    assert problems[6] == ("发生日期", "发生日期“2026-02-30”不是有效的日期")
    assert problems[7] == ("身份证号码", "未找到该身份证号码的老人档案，或不在您的管辖范围内")
    assert problems[8] == problems[7]  # outside the scope reads the same as nobody
    assert problems[9] == ("迁入社区代码", "市内迁居请填写迁入社区代码")
    assert problems[10] == ("身份证号码", "身份证号码校验位错误，请核对号码是否抄错")
    elsewhere.refresh_from_db()
    assert elsewhere.status == "active"


def test_a_missing_required_header_rejects_the_event_file(cast, tmp_path):
    path = write_xlsx(tmp_path / "e.xlsx", [["身份证号码", "事件类型"], [make_id(), "死亡"]])
    result = importing.events_import(actor=cast.district_staff, path=path)
    assert [p.problem for p in result.header_problems] == ["缺少必填列“发生日期”"]
    assert result.rejected == 1


def test_a_move_to_an_unknown_community_is_refused(cast, tmp_path):
    elder = elder_in()
    unknown = "120101001999"
    assert not Region.objects.filter(code=unknown).exists()
    rows = [HEADER, [elder.id_number, "move_within", DAY, unknown, ""]]
    result = importing.events_import(actor=cast.district_staff, path=write_xlsx(tmp_path / "e.xlsx", rows))
    assert result.rejected == 1
    assert result.errors[0].column == "迁入社区代码" and "不存在" in result.errors[0].problem


def test_the_life_events_command_prints_one_json_line(db, tmp_path):
    elder = elder_in()
    path = tmp_path / "e.csv"
    path.write_bytes(
        ("\r\n".join([",".join(HEADER), f"{elder.id_number},死亡,2026-03-01,,民政数据"]) + "\r\n").encode(
            "gb18030"
        )
    )
    out = StringIO()
    call_command("import_life_events", str(path), "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 0}
    assert LifeEvent.objects.get().recorded_by is None


def test_the_page_imports_an_event_file_too(cast, client, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    settings.MEDIA_ROOT = tmp_path / "media"
    elder = elder_in()
    content = write_xlsx(tmp_path / "e.xlsx", [HEADER, [elder.id_number, "死亡", DAY, "", ""]]).read_bytes()
    client.force_login(cast.community_worker)
    response = client.post(
        reverse("registry:import"), {"kind": "events", "file": SimpleUploadedFile("e.xlsx", content)}
    )
    assert response.status_code == 302
    assert 'data-count="created">1<' in client.get(response.url).content.decode()
    elder.refresh_from_db()
    assert elder.status == "deceased"
