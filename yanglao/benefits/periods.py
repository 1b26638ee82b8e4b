"""Figures of one period's entitlements, set-based: totals per programme and what changed since the
previous period. The run stores both on itself when it finishes; the period page and the API read them
the same way (services and selectors both use this module, which writes nothing)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, QuerySet, Sum

from yanglao.benefits.models import Entitlement


def previous_period(period: date) -> date:
    return (period.replace(day=1) - timedelta(days=1)).replace(day=1)


def regular_rows(period: date, *, region: str = "", programme: str = "") -> QuerySet:
    """The period's regular entitlements (not back-pay or recoveries), optionally of one region or one
    programme: a range of the unique key, which leads with the period and the programme."""
    rows = Entitlement.objects.filter(period=period.replace(day=1), kind=Entitlement.Kind.REGULAR)
    if programme:
        rows = rows.filter(programme_code=programme)
    if region:
        rows = rows.filter(region_code__startswith=region)
    return rows


def districts_waiting(period: date) -> list[str]:
    """The districts with entitlements of the period still to review (the city cannot approve yet)."""
    drafts = Entitlement.objects.filter(period=period.replace(day=1), state=Entitlement.State.DRAFT)
    return sorted({code[:6] for code in drafts.values_list("region_code", flat=True).distinct()})


def totals(period: date, *, region: str = "", programme: str = "") -> dict[str, dict[str, Any]]:
    """Per programme code: beneficiaries and the amount (text, two decimals), in one query."""
    grouped = (
        regular_rows(period, region=region, programme=programme)
        .values("programme_code")
        .annotate(heads=Count("pk"), total=Sum("amount"))
        .order_by("programme_code")
    )
    return {
        row["programme_code"]: {
            "beneficiaries": row["heads"],
            "amount": str((row["total"] or Decimal(0)).quantize(Decimal("0.01"))),
        }
        for row in grouped
    }


def _side(alias: str, period: date, region: str, programme: str) -> tuple[str, list[Any]]:
    """The SQL condition selecting one period's regular rows under `alias` (region codes are digits)."""
    condition = f"{alias}.period = %s AND {alias}.kind = %s"
    params: list[Any] = [period.replace(day=1), Entitlement.Kind.REGULAR]
    if programme:
        condition += f" AND {alias}.programme_code = %s"
        params.append(programme)
    if region:
        condition += f" AND {alias}.region_code LIKE %s"
        params.append(f"{region}%")
    return condition, params


def difference_queries(
    period: date, *, region: str = "", programme: str = ""
) -> tuple[Callable[[], dict[str, tuple[int, int]]], Callable[[], dict[str, int]]]:
    """The two halves of differences() as functions that can run apart (each on its own connection, at
    once: benefits_run): per programme code (new, changed), and per programme code stopped."""
    table = Entitlement._meta.db_table
    now, now_params = _side("cur", period, region, programme)
    before, before_params = _side("prev", previous_period(period), region, programme)
    same = "prev.programme_code = cur.programme_code AND prev.target = cur.target"
    same += " AND prev.beneficiary_id = cur.beneficiary_id"

    def new_and_changed() -> dict[str, tuple[int, int]]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT cur.programme_code,
                           SUM(CASE WHEN prev.id IS NULL THEN 1 ELSE 0 END),
                           SUM(CASE WHEN prev.id IS NOT NULL AND prev.amount <> cur.amount THEN 1 ELSE 0 END)
                    FROM {table} cur LEFT JOIN {table} prev ON {same} AND {before}
                    WHERE {now} GROUP BY cur.programme_code""",  # noqa: S608 - names and conditions are ours
                [*before_params, *now_params],
            )
            return {code: (int(new or 0), int(changed or 0)) for code, new, changed in cursor.fetchall()}

    def stopped() -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT prev.programme_code, COUNT(*)
                    FROM {table} prev LEFT JOIN {table} cur ON {same} AND {now}
                    WHERE {before} AND cur.id IS NULL GROUP BY prev.programme_code""",  # noqa: S608
                [*now_params, *before_params],
            )
            return {code: int(count) for code, count in cursor.fetchall()}

    return new_and_changed, stopped


def merge_differences(
    new_and_changed: dict[str, tuple[int, int]], stopped: dict[str, int]
) -> dict[str, dict[str, int]]:
    found = {
        code: {"new": new, "stopped": 0, "changed": changed}
        for code, (new, changed) in new_and_changed.items()
    }
    for code, count in stopped.items():
        found.setdefault(code, {"new": 0, "stopped": 0, "changed": 0})["stopped"] = count
    return dict(sorted(found.items()))


def differences(period: date, *, region: str = "", programme: str = "") -> dict[str, dict[str, int]]:
    """Per programme code, against the previous period: beneficiaries new this period, stopped (paid
    before, not now) and changed (paid both times, another amount). Two LEFT JOINs of the table with
    itself on the unique key (period, programme, target, kind, beneficiary): a pass over each period's
    rows on both databases. (Per-programme NOT EXISTS / NOT IN subqueries took tens of seconds on
    PostgreSQL at a million rows, and SQLite joins a FULL OUTER JOIN of subqueries by scanning one for
    every row of the other.)"""
    new_and_changed, stopped = difference_queries(period, region=region, programme=programme)
    return merge_differences(new_and_changed(), stopped())
