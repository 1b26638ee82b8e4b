"""Reads of benefits: what changed since the previous period, and what a draft programme would cost
(what-if), both set-based over the whole population."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Substr

from yanglao.accounts.scope import covers
from yanglao.benefits import packs, payments, periods, services
from yanglao.benefits.models import Entitlement, Programme
from yanglao.core.errors import InvalidInput
from yanglao.regions import codes
from yanglao.regions.models import Region
from yanglao.registry.models import Elder

previous_period = periods.previous_period
districts_waiting = periods.districts_waiting


@dataclass
class Differences:
    """Per programme, compared with the previous period: who is new, who stopped, whose amount changed."""

    new: int = 0
    stopped: int = 0
    changed: int = 0
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def differences(
    programme_code: str,
    period: date,
    *,
    sample: int = 20,
    region: str = "",
    counts: dict[str, int] | None = None,
) -> Differences:
    """The counts of periods.differences for one programme (computed unless given), with a few rows of
    each kind (beneficiary, amounts, reasons) for the page."""
    if counts is None:
        counts = periods.differences(period, region=region, programme=programme_code).get(programme_code, {})
    current = periods.regular_rows(period, region=region, programme=programme_code)
    before = periods.regular_rows(previous_period(period), region=region, programme=programme_code)
    earlier = before.filter(target=OuterRef("target"), beneficiary_id=OuterRef("beneficiary_id"))
    later = current.filter(target=OuterRef("target"), beneficiary_id=OuterRef("beneficiary_id"))
    new = current.exclude(Exists(earlier))
    stopped = before.exclude(Exists(later))
    changed = (
        current.annotate(
            before_amount=Subquery(earlier.values("amount")[:1]),
            before_reason=Subquery(earlier.values("reason")[:1]),
        )
        .exclude(before_amount__isnull=True)
        .exclude(before_amount=F("amount"))
    )
    found = Differences(**counts)
    columns = ("beneficiary_id", "region_code", "amount", "reason")
    found.samples = {
        "new": list(new.order_by("beneficiary_id").values(*columns)[:sample]) if found.new else [],
        "stopped": list(stopped.order_by("beneficiary_id").values(*columns)[:sample])
        if found.stopped
        else [],
        "changed": list(
            changed.order_by("beneficiary_id").values(*columns, "before_amount", "before_reason")[:sample]
        )
        if found.changed
        else [],
    }
    return found


@dataclass
class WhatIf:
    code: str
    name: str
    heads: int
    cost: Decimal
    by_district: dict[str, dict[str, Any]]
    replaces: dict[str, Any] | None  # the current programme of the same code, for comparison


def whatif(*, path: str | Path, period: date, jurisdiction: str | None = None) -> list[WhatIf]:
    """Evaluate the programmes of a draft pack against today's registry without writing anything: head
    count and cost per period, in total and per district, beside the loaded programme they would
    replace (same code)."""
    first = period.replace(day=1)
    found = []
    for pack in packs.load_path(path):
        for spec in pack.programmes:
            draft = Programme(
                code=spec.code,
                version=spec.version,
                name=spec.name,
                jurisdiction=jurisdiction or spec.jurisdiction,
                target=spec.target,
                payment=spec.payment,
                frequency=spec.frequency,
                pay_month=spec.pay_month,
                valid_from=spec.valid_from,
                valid_until=spec.valid_until,
                rule=spec.rule(),
            )
            rows = services.eligible(draft, first)
            field_name = services.REGION_FIELD[spec.target]
            district = Substr(field_name, 1, 6)
            grouped = (
                rows.annotate(district=district)
                .values("district")
                .annotate(heads=Count("pk"), cost=Sum("benefit_amount"))
                .order_by("district")
            )
            by_district = {
                g["district"]: {"heads": g["heads"], "cost": g["cost"] or Decimal(0)} for g in grouped
            }
            current = Programme.objects.filter(code=spec.code, is_current=True).first()
            replaces = None
            if current is not None:
                now = services.eligible(current, first)
                totals = now.aggregate(heads=Count("pk"), cost=Sum("benefit_amount"))
                replaces = {
                    "version": current.version,
                    "heads": totals["heads"],
                    "cost": totals["cost"] or Decimal(0),
                }
            found.append(
                WhatIf(
                    code=spec.code,
                    name=spec.name,
                    heads=sum(v["heads"] for v in by_district.values()),
                    cost=sum((v["cost"] for v in by_district.values()), Decimal(0)),
                    by_district=by_district,
                    replaces=replaces,
                )
            )
    if not found:
        raise InvalidInput("政策文件中没有补贴项目", field="policy")
    return found


def elder_benefits(elder_id: int, *, limit: int = 24) -> dict[str, Any]:
    """An elder's latest entitlements, service-account balance and ledger (the elder's page, the API).
    The caller has already checked that the elder is in scope."""
    from yanglao.benefits.models import BankAccount, LedgerEntry, ServiceAccount

    account = ServiceAccount.objects.filter(elder_id=elder_id).first()
    bank = BankAccount.objects.filter(elder_id=elder_id).first()
    return {
        "bank": {
            "bank_name": bank.bank_name,
            "account_name": bank.account_name,
            "account": bank.masked_number,
        }
        if bank
        else None,
        "balance": account.balance if account else Decimal(0),
        "entitlements": [
            {
                **row,
                "state_label": str(Entitlement.State(row["state"]).label),
                "kind_label": str(Entitlement.Kind(row["kind"]).label),
            }
            for row in Entitlement.objects.filter(target="elder", beneficiary_id=elder_id)
            .order_by("-period", "programme_code", "kind")
            .values("programme_code", "period", "amount", "reason", "payment", "state", "kind")[:limit]
        ],
        "ledger": list(
            LedgerEntry.objects.filter(account__elder_id=elder_id)
            .order_by("-created_at", "-id")
            .values("amount", "note", "reference", "created_at")[:limit]
        ),
    }


# -- the period page: figures, differences and the entitlement list, in the user's region -----------------


def scoped(user: Any, queryset: QuerySet, field: str = "region_code") -> QuerySet:
    """Rows whose region lies under the user's own region; a superuser sees all, no region sees none."""
    if user.is_superuser:
        return queryset
    if not user.region_id:
        return queryset.none()
    return queryset.filter(codes.within(user.region_id, field))


def region_names(region_codes: Any) -> dict[str, str]:
    return dict(Region.objects.filter(code__in=set(region_codes)).values_list("code", "name"))


def programme_names() -> dict[str, str]:
    """Each code's name in its latest version (a programme no longer current keeps its name)."""
    names: dict[str, str] = {}
    for code, name in Programme.objects.order_by("code", "-version").values_list("code", "name"):
        names.setdefault(code, name)
    return names


def period_summary(rows: QuerySet, names: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per programme: heads, amount and how many are waiting, reviewed, approved; and the total."""
    states = (Entitlement.State.DRAFT, Entitlement.State.REVIEWED, Entitlement.State.APPROVED)
    summary = [
        {**row, "name": names.get(row["programme_code"], row["programme_code"])}
        for row in rows.values("programme_code")
        .annotate(
            heads=Count("id"), amount=Sum("amount"), **{s: Count("id", filter=Q(state=s)) for s in states}
        )
        .order_by("programme_code")
    ]
    total = {
        "heads": sum(r["heads"] for r in summary),
        "amount": sum((r["amount"] for r in summary), Decimal(0)),
    }
    return summary, total


def period_differences(
    period: date, *, region: str, sample: int, names: dict[str, str]
) -> list[dict[str, Any]]:
    """Every programme's differences from the previous period in the region: the counts of all of them
    in one pass (periods.differences), then a few sample rows of each kind that has any."""
    counts = periods.differences(period, region=region)
    return [
        {
            "code": code,
            "name": names.get(code, code),
            "found": differences(code, period, sample=sample, region=region, counts=found),
        }
        for code, found in counts.items()
    ]


def period_districts(rows: QuerySet, user: Any) -> list[dict[str, Any]]:
    """Per district: entitlements, drafts still to review, cash rows payable and approved; named, and
    whether it lies in the user's region."""
    districts = list(
        rows.annotate(district=Substr("region_code", 1, 6))
        .values("district")
        .annotate(
            heads=Count("id"),
            drafts=Count("id", filter=Q(state=Entitlement.State.DRAFT)),
            cash=Count("id", filter=Q(target="elder", payment="cash", state__in=payments.PAYABLE)),
            approved_cash=Count(
                "id", filter=Q(target="elder", payment="cash", state=Entitlement.State.APPROVED)
            ),
        )
        .order_by("district")
    )
    names = region_names(d["district"] for d in districts)
    for row in districts:
        row["name"] = names.get(row["district"], row["district"])
        row["mine"] = covers(user, row["district"])
    return districts


def filter_entitlements(params: Any, rows: QuerySet) -> tuple[dict[str, str], dict[str, str], QuerySet]:
    """The list's filters (programme, region, state, beneficiary number) with an error per bad field;
    any error empties the list rather than showing everything."""
    values = {key: params.get(key, "").strip() for key in ("programme", "region", "state", "q")}
    errors: dict[str, str] = {}
    if values["programme"]:
        rows = rows.filter(programme_code=values["programme"])
    if values["region"]:
        try:
            rows = rows.filter(codes.within(codes.normalize(values["region"]), "region_code"))
        except InvalidInput as error:
            errors["region"] = error.message
    if values["state"]:
        if values["state"] in Entitlement.State.values:
            rows = rows.filter(state=values["state"])
        else:
            errors["state"] = f"状态“{values['state']}”无效"
    if values["q"]:
        if values["q"].isdigit():
            rows = rows.filter(beneficiary_id=int(values["q"]))
        else:
            errors["q"] = "请输入对象编号（数字）"
    return values, errors, rows.none() if errors else rows


def with_names(entitlements: list[Entitlement]) -> list[dict[str, Any]]:
    """A page of entitlements with the elder's name and the region's name beside each."""
    elders = dict(
        Elder.objects.filter(
            pk__in={e.beneficiary_id for e in entitlements if e.target == "elder"}
        ).values_list("pk", "name")
    )
    regions = region_names(e.region_code for e in entitlements)
    return [
        {
            "e": e,
            "name": elders.get(e.beneficiary_id, "") if e.target == "elder" else "",
            "region": regions.get(e.region_code, ""),
        }
        for e in entitlements
    ]
