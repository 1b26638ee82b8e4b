"""`yanglao import_workers` and workers_import: each row through the worker services, matched by ID
number, certificates from the same row, and the shared error workbook."""

import io
import json
from datetime import date

from django.core.management import call_command

from yanglao.core.testing import read_errors, write_xlsx
from yanglao.providers import importing
from yanglao.providers.models import CareWorker, Certificate
from yanglao.providers.tests.conftest import worker_id

HEADER = [
    "序号",
    "姓名",
    "身份证号码",
    "所属机构统一社会信用代码",
    "手机号码",
    "证书等级",
    "证书编号",
    "发证日期",
]


def sheet(cast):
    code = cast.organisations["provider"].credit_code
    good = worker_id(date(1975, 5, 1))
    return good, [
        HEADER,
        [1, "刘秀英", good, code, "13912345678", "中级", "ZJ-2020-001", date(2020, 6, 1)],
        [2, "错号码", good[:-1] + ("0" if good[-1] != "0" else "1"), code, None, None, None, None],
        [3, "无机构", worker_id(date(1980, 1, 1)), "91120000MA00000000", None, None, None, None],
        [4, "缺日期", worker_id(date(1982, 1, 1)), code, None, "初级", "CJ-1", None],
    ]


def test_rows_are_registered_with_certificates_and_bad_rows_reported(cast, tmp_path):
    good, data = sheet(cast)
    path = write_xlsx(tmp_path / "w.xlsx", data)
    result = importing.workers_import(actor="tests", path=path, errors_path=tmp_path / "e.xlsx")
    assert result.counts() == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 3}
    worker = CareWorker.objects.get()
    assert worker.name == "刘秀英" and worker.id_number == good
    assert Certificate.objects.get(worker=worker).grade == "intermediate"
    problems = {row: (column, problem) for row, column, _, problem in read_errors(result.errors_path)}
    assert problems[3][0] == "身份证号码"
    assert problems[4][0] == "所属机构统一社会信用代码" and "尚未登记" in problems[4][1]
    assert "发证日期" in problems[5][1]
    assert not CareWorker.objects.filter(name__in=["无机构", "缺日期"]).exists()  # nothing half-written


def test_the_same_file_twice_changes_nothing(cast, tmp_path):
    _, data = sheet(cast)
    path = write_xlsx(tmp_path / "w.xlsx", data[:2])
    importing.workers_import(actor="tests", path=path)
    again = importing.workers_import(actor="tests", path=path)
    assert again.counts() == {"created": 0, "updated": 0, "unchanged": 1, "rejected": 0}
    assert Certificate.objects.count() == 1


def test_a_provider_admin_imports_only_their_own_staff(cast, tmp_path):
    _, data = sheet(cast)
    data[1][3] = cast.organisations["other_provider"].credit_code
    path = write_xlsx(tmp_path / "w.xlsx", data[:2])
    result = importing.workers_import(actor=cast.provider_admin, path=path)
    assert result.rejected == 1 and not CareWorker.objects.exists()


def test_the_command_prints_one_json_line(cast, tmp_path):
    _, data = sheet(cast)
    path = write_xlsx(tmp_path / "w.xlsx", data)
    out = io.StringIO()
    call_command("import_workers", str(path), "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 3}


def test_certificate_problems_name_the_files_columns_and_serial_dates_are_read(cast, tmp_path):
    code = cast.organisations["provider"].credit_code
    data = [
        HEADER + ["入职日期"],
        [1, "甲", worker_id(date(1970, 1, 1)), code, None, "宗师", "X-1", date(2020, 1, 1), 45000],
        [2, "乙", worker_id(date(1971, 1, 1)), code, None, "初级", "X-2", None, None],
    ]
    result = importing.workers_import(
        actor="tests", path=write_xlsx(tmp_path / "w.xlsx", data), errors_path=tmp_path / "e.xlsx"
    )
    problems = {row: column for row, column, _, _ in read_errors(result.errors_path)}
    assert problems == {2: "证书等级", 3: "发证日期"}


def test_a_provider_admin_may_use_the_import_page_for_workers(cast, client):
    client.force_login(cast.provider_admin)
    page = client.get("/registry/import/").content.decode()
    assert 'value="workers"' in page and 'value="elders"' not in page


def test_a_serial_hiring_date_is_accepted(cast, tmp_path):
    code = cast.organisations["provider"].credit_code
    data = [HEADER[:4] + ["入职日期"], [1, "丙", worker_id(date(1972, 1, 1)), code, 45000]]
    importing.workers_import(actor="tests", path=write_xlsx(tmp_path / "w.xlsx", data))
    assert CareWorker.objects.get().hired_on == date(2023, 3, 15)
