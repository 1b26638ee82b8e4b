"""Reads of benefits: what changed since the previous period, and what a draft programme would cost
(what-if), both set-based over the whole population."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Subquery, Sum
from django.db.models.functions import Substr

from yanglao.benefits import packs, periods, services
from yanglao.benefits.models import Entitlement, Programme
from yanglao.core.errors import InvalidInput

previous_period = periods.previous_period


@dataclass
class Differences:
    """Per programme, compared with the previous period: who is new, who stopped, whose amount changed."""

    new: int = 0
    stopped: int = 0
    changed: int = 0
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def differences(programme_code: str, period: date, *, sample: int = 20, region: str = "") -> Differences:
    """The counts of periods.differences for one programme, with a few rows of each kind (beneficiary,
    amounts, reasons) for the page."""
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
    from yanglao.benefits.models import LedgerEntry, ServiceAccount

    account = ServiceAccount.objects.filter(elder_id=elder_id).first()
    return {
        "balance": account.balance if account else Decimal(0),
        "entitlements": list(
            Entitlement.objects.filter(target="elder", beneficiary_id=elder_id)
            .order_by("-period", "programme_code")
            .values("programme_code", "period", "amount", "reason", "payment", "state")[:limit]
        ),
        "ledger": list(
            LedgerEntry.objects.filter(account__elder_id=elder_id)
            .order_by("-created_at", "-id")
            .values("amount", "note", "reference", "created_at")[:limit]
        ),
    }
