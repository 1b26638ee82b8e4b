"""Rosters (masked for the district), the bank file (approvers only, audited) and the bank's results."""

import csv
import io

import pytest
from python_calamine import CalamineWorkbook

from yanglao.benefits import payments, services
from yanglao.benefits.models import Entitlement
from yanglao.benefits.tests.test_benefits_run import NOVEMBER, setup_city
from yanglao.core.errors import InvalidInput, PermissionDenied
from yanglao.core.models import AuditLog
from yanglao.core.testing import read_errors, write_xlsx


@pytest.fixture
def approved(cast, make_elder, pack_file):
    people = setup_city(make_elder, pack_file)
    services.bank_account_set(
        actor=cast.community_worker,
        elder=people["一般92"],
        bank_name="天津银行和平支行",
        account_name="一般丙",
        account_number="6222 0012 3456 7890 123",
    )
    services.benefits_run(actor="tests", period=NOVEMBER)
    services.entitlements_review(actor="tests", period=NOVEMBER, district="120101")
    services.entitlements_approve(actor="tests", period=NOVEMBER)
    return people


def test_the_roster_lists_cash_entitlements_masked_for_the_district(cast, approved):
    content, count, total = payments.roster_workbook(
        actor=cast.district_staff, period=NOVEMBER, district="120101"
    )
    assert (count, str(total)) == (2, "600.00")  # the senior allowance is the cash programme
    rows = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_name("发放花名册").to_python()
    assert rows[0][:5] == ["序号", "明细编号", "社区代码", "姓名", "身份证号码"]
    by_name = {r[3]: r for r in rows[1:]}
    assert (
        "********" in by_name["一般丙"][4]
        and by_name["一般丙"][9].startswith("6222")
        and "*" in by_name["一般丙"][9]
    )
    assert by_name["低保甲"][8] == "未登记发放账户"
    with pytest.raises(PermissionDenied):
        payments.roster_workbook(actor=cast.other_district_staff, period=NOVEMBER, district="120101")


def test_the_bank_file_is_for_approvers_and_leaves_out_missing_accounts(cast, approved):
    with pytest.raises(PermissionDenied):
        payments.bank_file(actor=cast.district_staff, period=NOVEMBER, district="120101")
    text, written, missing = payments.bank_file(actor=cast.city_admin, period=NOVEMBER, district="120101")
    assert (written, missing) == (1, 1)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["明细编号", "户名", "开户行", "账号", "金额", "摘要"]
    assert rows[1][3] == "6222001234567890123" and rows[1][4] == "500.00"
    assert AuditLog.objects.filter(action="benefits.bank_file").count() == 1


def test_bank_results_mark_paid_and_failed_and_report_bad_rows(cast, approved, tmp_path):
    cash = list(Entitlement.objects.filter(payment="cash").order_by("pk").values_list("pk", flat=True))
    sheet = [
        ["明细编号", "结果", "原因"],
        [str(cash[0]), "成功", ""],
        [str(cash[1]), "失败", "账户已销户"],
        ["999999", "成功", ""],
        ["abc", "退回", ""],
    ]
    result = payments.bank_results_import(
        actor=cast.city_admin, path=write_xlsx(tmp_path / "r.xlsx", sheet), errors_path=tmp_path / "e.xlsx"
    )
    assert result.counts() == {"created": 0, "updated": 2, "unchanged": 0, "rejected": 2}
    states = dict(Entitlement.objects.filter(pk__in=cash).values_list("pk", "state"))
    assert states == {cash[0]: "paid", cash[1]: "failed"}
    assert [column for _, column, _, _ in read_errors(result.errors_path)] == ["明细编号", "明细编号"]


def test_a_bank_account_is_checked_and_stored_encrypted(cast, make_elder):
    from django.db import connection

    elder = make_elder()
    with pytest.raises(InvalidInput) as caught:
        services.bank_account_set(
            actor=cast.community_worker, elder=elder, bank_name="", account_name="甲", account_number="12ab"
        )
    assert [d["field"] for d in caught.value.details] == ["bank_name", "account_number"]
    services.bank_account_set(
        actor=cast.community_worker,
        elder=elder,
        bank_name="行",
        account_name="甲",
        account_number="622200123456789",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT account_number FROM benefits_bankaccount")
        assert "622200123456789" not in cursor.fetchone()[0]
