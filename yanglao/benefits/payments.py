"""Paying approved cash entitlements: the district's payment roster (xlsx), the bank file (csv) and the
bank's results (failed payments), DOMAIN.md §3.

The roster is for the district's finance office: ID and account numbers masked unless the role may see
them. The bank file carries full account numbers, so it is for the city's approvers only and each file
made is audited. Only approved entitlements are paid; each has one row in the bank file, identified by
its entitlement number, which the bank's results refer back to.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from django.db import transaction
from django.utils import timezone

from yanglao.accounts.scope import require_perm, require_region
from yanglao.benefits.models import BankAccount, Entitlement, Programme
from yanglao.core import audit, pii, rowimport, sheets
from yanglao.core.errors import InvalidInput
from yanglao.core.permissions import Perm
from yanglao.regions import codes
from yanglao.registry.models import Elder

PAYABLE = (Entitlement.State.APPROVED, Entitlement.State.PAID, Entitlement.State.FAILED)


def _cash(period: date, district: str) -> Any:
    return Entitlement.objects.filter(
        period=period.replace(day=1),
        region_code__startswith=district,
        target="elder",
        payment="cash",
        state__in=PAYABLE,
    ).order_by("region_code", "beneficiary_id", "programme_code")


def _in_chunks(queryset: Any, field: str, ids: list[int], size: int = 900) -> Iterator[Any]:
    """The rows whose `field` is one of `ids`, read by primary-key lookups in lists of `size`: a
    district's tens of thousands of ids are more parameters than SQLite takes in one statement, and a
    subquery repeating the roster's own query would scan the month's entitlements again."""
    for start in range(0, len(ids), size):
        yield from queryset.filter(**{f"{field}__in": ids[start : start + size]})


def _district(actor: Any, district: str) -> str:
    district = codes.normalize(district, field="district")
    if len(district) != 6:
        raise InvalidInput("请选择区县（6 位区划代码）", field="district")
    if getattr(actor, "is_authenticated", False):
        require_region(actor, district)
    return district


def roster_workbook(*, actor: Any, period: date, district: str) -> tuple[bytes, int, Decimal]:
    """The district's payment roster of approved cash entitlements: one row each, and a summary."""
    if getattr(actor, "is_authenticated", False) and not (
        actor.has_perm(Perm.BENEFITS_REVIEW) or actor.has_perm(Perm.BENEFITS_APPROVE)
    ):
        require_perm(actor, Perm.BENEFITS_REVIEW)
    district = _district(actor, district)
    clear = not getattr(actor, "is_authenticated", False) or actor.has_perm(Perm.PII_VIEW)
    cash = _cash(period, district)
    rows = list(
        cash.values_list("pk", "programme_code", "beneficiary_id", "region_code", "amount", "reason", "state")
    )
    ids = sorted({r[2] for r in rows})
    elders = {e.pk: e for e in _in_chunks(Elder.objects.only("name", "id_number"), "pk", ids)}
    accounts = {a.elder_id: a for a in _in_chunks(BankAccount.objects.all(), "elder_id", ids)}
    names = dict(Programme.objects.filter(is_current=True).values_list("code", "name"))
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2"})
    sheet = book.add_worksheet("发放花名册")
    headers = (
        "序号",
        "明细编号",
        "社区代码",
        "姓名",
        "身份证号码",
        "项目",
        "金额（元）",
        "依据",
        "开户行",
        "账号",
        "状态",
    )
    sheet.write_row(0, 0, headers, bold)
    total = Decimal(0)
    by_programme: dict[str, list[Decimal]] = {}
    for index, (pk, code, elder_id, region, amount, reason, state) in enumerate(rows, start=1):
        elder = elders.get(elder_id)
        account = accounts.get(elder_id)
        number = elder.id_number if elder else ""
        sheet.write_row(
            index,
            0,
            (
                index,
                str(pk),
                region,
                elder.name if elder else "",
                number if clear else pii.mask_id_number(number),
                names.get(code, code),
                float(amount),
                reason,
                account.bank_name if account else "未登记发放账户",
                (account.account_number if clear else account.masked_number) if account else "",
                str(Entitlement.State(state).label),
            ),
        )
        total += amount
        by_programme.setdefault(code, []).append(amount)
    summary = book.add_worksheet("汇总")
    summary.write_row(0, 0, ("项目", "人数", "金额（元）"), bold)
    for index, (code, amounts) in enumerate(sorted(by_programme.items()), start=1):
        summary.write_row(index, 0, (names.get(code, code), len(amounts), float(sum(amounts))))
    end = len(by_programme) + 1
    summary.write_row(end, 0, ("合计", len(rows), float(total)), bold)
    summary.write_row(end + 2, 0, ("期间", f"{period:%Y-%m}", "区县", district))
    summary.write_row(
        end + 3,
        0,
        (
            "制表",
            getattr(actor, "username", str(actor)),
            "时间",
            timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        ),
    )
    book.close()
    return buffer.getvalue(), len(rows), total


@transaction.atomic
def bank_file(*, actor: Any, period: date, district: str) -> tuple[str, int, int]:
    """The bank's payment file (CSV, UTF-8 with BOM for Excel): approved cash entitlements of elders with
    a registered account; returns the text, the rows written and the rows left out for want of an account."""
    if getattr(actor, "is_authenticated", False):
        require_perm(actor, Perm.BENEFITS_APPROVE)
    district = _district(actor, district)
    approved = _cash(period, district).filter(state=Entitlement.State.APPROVED)
    rows = list(approved.values_list("pk", "beneficiary_id", "amount", "reason"))
    ids = sorted({r[1] for r in rows})
    accounts = {a.elder_id: a for a in _in_chunks(BankAccount.objects.all(), "elder_id", ids)}
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["明细编号", "户名", "开户行", "账号", "金额", "摘要"])
    written = 0
    for pk, elder_id, amount, reason in rows:
        account = accounts.get(elder_id)
        if account is None:
            continue
        writer.writerow(
            [
                pk,
                account.account_name,
                account.bank_name,
                account.account_number,
                f"{amount:.2f}",
                reason[:40],
            ]
        )
        written += 1
    audit.record(
        actor,
        "benefits.bank_file",
        object_type="benefits.period",
        object_id=f"{period:%Y-%m}",
        region_code=district,
        after={"rows": written, "missing_accounts": len(rows) - written},
    )
    return out.getvalue(), written, len(rows) - written


RESULT_HEADERS = {"明细编号": "entitlement", "结果": "result", "原因": "reason"}
_RESULTS = {
    "成功": Entitlement.State.PAID,
    "失败": Entitlement.State.FAILED,
    "success": Entitlement.State.PAID,
    "failed": Entitlement.State.FAILED,
}


def bank_results_import(
    *, actor: Any, path: str | Path, errors_path: str | Path | None = None
) -> rowimport.ImportResult:
    """The bank's answer file: each approved entitlement becomes paid or failed (a failed one can be
    paid again after the account is corrected); unknown or already settled rows are reported."""
    if getattr(actor, "is_authenticated", False):
        require_perm(actor, Perm.BENEFITS_APPROVE)

    def apply(values: dict[str, Any]) -> str:
        raw = sheets.display(values.get("entitlement")).strip()
        if not raw.isdigit():
            raise InvalidInput(f"明细编号“{raw}”无效", field="entitlement")
        state = _RESULTS.get(str(values.get("result", "")).strip())
        if state is None:
            raise InvalidInput("结果应为“成功”或“失败”", field="result")
        row = Entitlement.objects.select_for_update().filter(pk=int(raw), payment="cash").first()
        if row is None:
            raise InvalidInput(f"明细编号 {raw} 不存在", field="entitlement")
        if row.state == state:
            return "unchanged"
        if row.state not in (Entitlement.State.APPROVED, Entitlement.State.FAILED):
            raise InvalidInput(
                f"明细编号 {raw} 状态为“{row.get_state_display()}”，不能登记发放结果", field="entitlement"
            )
        Entitlement.objects.filter(pk=row.pk).update(state=state)
        audit.record(
            actor,
            "benefits.bank_result",
            row,
            after={"state": state, "reason": str(values.get("reason", ""))[:100]},
        )
        return "updated"

    return rowimport.import_rows(
        path=path,
        headers=RESULT_HEADERS,
        required={"entitlement", "result"},
        apply_row=apply,
        errors_path=errors_path,
        title="银行发放结果",
    )
