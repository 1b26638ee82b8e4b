"""Monthly settlement per provider (DOMAIN.md §5: "monthly settlement per provider from confirmed visits;
reconciliation report"): the statement of a month's confirmed visits, split into service-account subsidy
and self-pay, its Excel statement, and the reconciliation of statements against the service accounts.

- A visit is on one statement at most (SettlementLine.visit is one-to-one): a run repeated, or two runs
  at once, pay nothing twice.
- A visit with an open or confirmed fraud flag is held out of settlement until the flag is cleared
  (fraud.HELD; confirmed fraud is never paid).
- A statement is extended while open; once reconciled (closed) it is final, and visits confirmed in its
  month that were not on it wait for the next month's run.

Each provider's statement is settled in its own transaction, under a row lock on the statement, so two
runs of one month are put in turn, and a run killed halfway leaves whole statements that the next run
carries on from. The orders being settled are row-locked too, which also serialises runs of different
months that would pick up the same late visit.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter
from django.db import transaction
from django.db.models import Count, DecimalField, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from yanglao.accounts.roles import ORGANISATION_BOUND
from yanglao.accounts.scope import covers, is_person, require_perm, require_region
from yanglao.benefits.models import LedgerEntry
from yanglao.core import audit, pii
from yanglao.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.enums import SettlementStatus
from yanglao.orders.fraud import HELD, HOLDING, flag_list, holds
from yanglao.orders.models import FraudFlag, Order, OrderEvent, Settlement, SettlementLine, Visit
from yanglao.providers.models import Provider
from yanglao.regions import codes
from yanglao.regions.models import Region

SETTLEABLE = (S.CONFIRMED, S.RATED)
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
_BATCH = 500
_ZERO = Decimal("0.00")


def _money(value: Decimal | None) -> Decimal:
    """A sum in yuan to the fen (SQLite's SUM forgets the column's scale; an empty sum is 0.00)."""
    return (value or _ZERO).quantize(_ZERO)


# ---------------------------------------------------------------------------------------------- periods


def parse_period(period: Any, *, allow_future: bool = False) -> tuple[datetime, datetime]:
    """The month "YYYY-MM" as [start, end) in local time; refuse malformed and future months."""
    text = str(period or "").strip()
    match = _PERIOD.match(text)
    if not match or not (1 <= int(match.group(2)) <= 12) or int(match.group(1)) < 2000:
        raise InvalidInput(f"结算月份“{text}”无效，应写作“年-月”，如 2026-11", field="period")
    year, month = int(match.group(1)), int(match.group(2))
    today = timezone.localdate()
    if not allow_future and (year, month) > (today.year, today.month):
        raise InvalidInput(f"结算月份 {text} 尚未到来，只能结算本月及以前的服务", field="period")
    following = date(year + month // 12, month % 12 + 1, 1)
    return (
        timezone.make_aware(datetime(year, month, 1)),
        timezone.make_aware(datetime(following.year, following.month, 1)),
    )


# ------------------------------------------------------------------------------------------------- scope


def _runner(actor: Any) -> None:
    if is_person(actor):
        require_perm(actor, Perm.SETTLEMENT_VIEW)
        require_perm(actor, Perm.ORDERS_DISPATCH)


def _region(actor: Any, region: str | None) -> str | None:
    if not region:
        return None
    code = codes.normalize(region, field="region")
    if is_person(actor):
        require_region(actor, code)
    return code


def _visit_scope(actor: Any, region: str | None, prefix: str = "") -> Q | None:
    """What of the visits (reached through `prefix`) the actor may settle or read: a named system job
    everything, staff their region's orders, a provider's staff their organisation's; None for nothing."""
    condition = Q()
    if is_person(actor) and not actor.is_superuser:
        if actor.role in ORGANISATION_BOUND:
            if not actor.organisation_id:
                return None
            condition &= Q(**{f"{prefix}order__provider__organisation_id": actor.organisation_id})
        elif actor.region_id:
            condition &= codes.within(actor.region_id, f"{prefix}order__region_id")
        else:
            return None
    if region:
        condition &= codes.within(region, f"{prefix}order__region_id")
    return condition


def _payable(cutoff: datetime, scope: Q) -> QuerySet[Visit]:
    """Visits confirmed before `cutoff`, their order confirmed or rated, on no statement yet (held ones
    included: callers split them with HELD)."""
    return Visit.objects.filter(
        scope,
        confirmed_at__lt=cutoff,
        order__status__in=SETTLEABLE,
        order__provider__isnull=False,
        settlement_line__isnull=True,
    )


# --------------------------------------------------------------------------------------------- services


@dataclass
class RunFigures:
    """What one run did to one statement (kept on the returned Settlement as `.run`)."""

    added: int = 0
    held: int = 0
    waiting: int = 0
    note: str = ""


def settlement_run(
    *, actor: Any, period: str, provider: Provider | int | None = None, region: str | None = None
) -> list[Settlement]:
    """Put every confirmed visit of the month (and earlier ones left over) not yet settled and not held by
    a fraud flag on its provider's statement; run again, it adds only what is new (DOMAIN.md §5)."""
    _runner(actor)
    start, end = parse_period(period)
    label = f"{start:%Y-%m}"
    region_code = _region(actor, region)
    scope = _visit_scope(actor, region_code)
    if scope is None:
        return []
    provider_id = provider.pk if isinstance(provider, Provider) else provider
    if provider_id is not None:
        if not Provider.objects.filter(pk=provider_id).exists():
            raise NotFound("未找到该服务机构", field="provider")
        scope &= Q(order__provider_id=provider_id)
    candidates = _payable(end, scope)
    providers = sorted(set(candidates.values_list("order__provider_id", flat=True)))
    audit_region = region_code or (actor.region_id if is_person(actor) else "") or ""
    settlements = []
    # In provider order, so two runs lock statements in the same order and never wait on each other
    # in a circle.
    for pid in providers:
        settled = _settle_provider(
            actor=actor, period=label, provider_id=pid, visits=candidates, audit_region=audit_region
        )
        if settled is not None:
            settlements.append(settled)
    return settlements


@transaction.atomic
def _settle_provider(
    *, actor: Any, period: str, provider_id: int, visits: QuerySet[Visit], audit_region: str
) -> Settlement | None:
    settlement, created = Settlement.objects.get_or_create(provider_id=provider_id, period=period)
    # The lock puts a second run of this month in turn; what is payable is read only after it, so the
    # second run sees the first one's lines (and, under READ COMMITTED, its committed orders).
    settlement = (
        Settlement.objects.select_for_update(of=("self",))
        .select_related("provider__organisation")
        .get(pk=settlement.pk)
    )
    mine = visits.filter(order__provider_id=provider_id)
    held = mine.filter(HELD).count()
    payable = mine.filter(~HELD)
    figures = RunFigures(held=held)
    if settlement.status == SettlementStatus.CLOSED:
        figures.waiting = payable.count()
        if figures.waiting:
            figures.note = f"{period} 结算单已对账，{figures.waiting} 次服务待下月结算"
        settlement.run = figures  # type: ignore[attr-defined]
        return settlement
    # Lock the orders (in id order) before reading them: a rating or a follow-up call on one of them
    # finishes first, and a run of another month that reached them first has settled them already.
    statuses = dict(
        Order.objects.select_for_update()
        .filter(status__in=SETTLEABLE, pk__in=payable.values("order_id"))
        .order_by("pk")
        .values_list("pk", "status")
    )
    rows = [
        row
        for row in payable.order_by("confirmed_at", "pk").values(
            "pk", "order_id", "amount", "account_paid", "self_paid"
        )
        if row["order_id"] in statuses
    ]
    figures.added = len(rows)
    settlement.run = figures  # type: ignore[attr-defined]
    if not rows and not created:
        return settlement if held else None
    if not rows and not held:
        settlement.delete()  # another run settled them meanwhile: leave no empty statement behind
        return None
    now = timezone.now()
    person = actor if is_person(actor) else None
    actor_name = (person.full_name or person.get_username()) if person else str(actor or "system")
    SettlementLine.objects.bulk_create(
        [
            SettlementLine(
                settlement=settlement,
                visit_id=row["pk"],
                amount=row["amount"],
                account_amount=row["account_paid"],
                self_amount=row["self_paid"],
            )
            for row in rows
        ],
        batch_size=_BATCH,
    )
    OrderEvent.objects.bulk_create(
        [
            OrderEvent(
                order_id=row["order_id"],
                action="settle",
                from_status=statuses[row["order_id"]],
                to_status=S.SETTLED,
                actor=person,
                actor_name=actor_name,
                at=now,
                note=f"计入 {period} 结算单",
                data={"settlement": settlement.pk, "period": period},
            )
            for row in rows
        ],
        batch_size=_BATCH,
    )
    # The orders of this statement still confirmed or rated are exactly the ones just added.
    Order.objects.filter(
        status__in=SETTLEABLE,
        pk__in=SettlementLine.objects.filter(settlement=settlement).values("visit__order_id"),
    ).update(status=S.SETTLED, updated_at=now)
    before = _totals(settlement)
    _recompute(settlement)
    audit.record(
        actor,
        "settlement.run",
        settlement,
        region_code=audit_region or settlement.provider.organisation.region_id,
        before=before if not created else None,
        after={"period": period, "added": len(rows), "held": held, **_totals(settlement)},
    )
    return settlement


def _totals(settlement: Settlement) -> dict[str, Any]:
    return {
        "visits": settlement.visit_count,
        "amount": str(settlement.amount),
        "account_amount": str(settlement.account_amount),
        "self_amount": str(settlement.self_amount),
    }


def _recompute(settlement: Settlement) -> None:
    """The statement's totals from its lines (never added up incrementally, so they cannot drift)."""
    sums = SettlementLine.objects.filter(settlement=settlement).aggregate(
        n=Count("pk"), amount=Sum("amount"), account=Sum("account_amount"), own=Sum("self_amount")
    )
    settlement.visit_count = sums["n"] or 0
    settlement.amount = _money(sums["amount"])
    settlement.account_amount = _money(sums["account"])
    settlement.self_amount = _money(sums["own"])
    settlement.save(update_fields=["visit_count", "amount", "account_amount", "self_amount", "updated_at"])


@transaction.atomic
def settlement_close(*, actor: Any, settlement: Settlement) -> Settlement:
    """Mark a statement reconciled (对账): it is final and no later run extends it; closing twice is
    refused. Staff of the provider's own district (or the city) close it."""
    _runner(actor)
    if is_person(actor) and not settlements_visible(actor).filter(pk=settlement.pk).exists():
        raise NotFound("未找到该结算单，或不在您的管辖范围内")
    locked = (
        Settlement.objects.select_for_update(of=("self",))
        .select_related("provider__organisation")
        .filter(pk=settlement.pk)
        .first()
    )
    if locked is None:
        raise NotFound("未找到该结算单")
    home = locked.provider.organisation.region_id
    if is_person(actor) and not covers(actor, home):
        raise PermissionDenied("结算单由服务机构所在区的工作人员对账")
    if locked.status == SettlementStatus.CLOSED:
        raise Conflict("该结算单已对账，不能重复对账", field="status", code="already_closed")
    locked.status = SettlementStatus.CLOSED
    locked.closed_at = timezone.now()
    locked.closed_by = actor if is_person(actor) else None
    locked.save(update_fields=["status", "closed_at", "closed_by", "updated_at"])
    audit.record(
        actor,
        "settlement.close",
        locked,
        region_code=home,
        before={"status": SettlementStatus.OPEN},
        after={"status": SettlementStatus.CLOSED, "period": locked.period, **_totals(locked)},
    )
    return locked


# -------------------------------------------------------------------------------------------- selectors


def settlements_visible(actor: Any) -> QuerySet[Settlement]:
    """Statements the actor may read: a provider's staff their organisation's; staff those with a visit
    in their region or of a provider registered in it; a named system job all."""
    base = Settlement.objects.select_related("provider__organisation", "closed_by")
    if not is_person(actor):
        return base if isinstance(actor, str) and actor else base.none()
    if not actor.is_active or not actor.has_perm(Perm.SETTLEMENT_VIEW):
        return base.none()
    if actor.is_superuser:
        return base
    if actor.role in ORGANISATION_BOUND:
        if not actor.organisation_id:
            return base.none()
        return base.filter(provider__organisation_id=actor.organisation_id)
    if not actor.region_id:
        return base.none()
    in_region = SettlementLine.objects.filter(
        codes.within(actor.region_id, "visit__order__region_id"), settlement=OuterRef("pk")
    )
    return base.filter(Exists(in_region) | codes.within(actor.region_id, "provider__organisation__region_id"))


def settlement_get(actor: Any, settlement_id: int) -> Settlement:
    """One statement in the actor's scope; outside it the answer is the same as for none."""
    found = settlements_visible(actor).filter(pk=settlement_id).first()
    if found is None:
        raise NotFound("未找到该结算单，或不在您的管辖范围内")
    return found


def settlement_list(
    actor: Any, *, period: str = "", provider: int | None = None, status: str = ""
) -> QuerySet[Settlement]:
    """The statements the actor may read, newest month first, by month ("YYYY-MM"), provider and status."""
    statements = settlements_visible(actor)
    if period:
        start, _end = parse_period(period, allow_future=True)
        statements = statements.filter(period=f"{start:%Y-%m}")
    if status:
        if status not in SettlementStatus.values:
            raise InvalidInput(f"结算单状态“{status}”无效", field="status")
        statements = statements.filter(status=status)
    if provider is not None:
        statements = statements.filter(provider_id=provider)
    return statements.order_by("-period", "provider__organisation__name", "pk")


def line_region(actor: Any, region: str | None = None) -> str | None:
    """The division whose orders' lines the actor may see on a statement they can open; None for every
    line. A statement is shared by every district its provider serves, but what a district clerk sees of
    it is their own region's elders (DESIGN.md rule 5); a provider's staff see all lines of their own
    statements, a named system job all. `region` narrows it further (within the actor's own)."""
    code = codes.normalize(region, field="region") if region else None
    if not is_person(actor) or actor.is_superuser or actor.role in ORGANISATION_BOUND:
        return code
    if not actor.region_id:
        raise PermissionDenied("您的账号未设置管辖区域，不能查看结算明细")
    if code is None:
        return str(actor.region_id)
    require_region(actor, code)
    return code


def settlement_lines(
    settlement: Settlement, *, actor: Any = None, region: str | None = None
) -> QuerySet[SettlementLine]:
    """The statement's lines the actor may see (line_region), in the order the visits were confirmed."""
    lines = SettlementLine.objects.filter(settlement=settlement)
    code = line_region(actor, region)
    if code:
        lines = lines.filter(codes.within(code, "visit__order__region_id"))
    return lines.select_related(
        "visit__order__elder", "visit__order__item", "visit__order__region", "visit__worker"
    ).order_by("visit__confirmed_at", "visit__order_id")


@dataclass
class LineTotals:
    """What the lines an actor sees of a statement add up to; `partial` when the statement has more lines
    than these (another district's elders), so screens label these totals as the actor's part."""

    region: str | None
    visits: int
    elders: int
    amount: Decimal
    account_amount: Decimal
    self_amount: Decimal
    partial: bool


def line_totals(settlement: Settlement, lines: QuerySet[SettlementLine], region: str | None) -> LineTotals:
    sums = lines.order_by().aggregate(
        n=Count("pk"),
        elders=Count("visit__order__elder_id", distinct=True),
        amount=Sum("amount"),
        account=Sum("account_amount"),
        own=Sum("self_amount"),
    )
    visits = sums["n"] or 0
    return LineTotals(
        region=region,
        visits=visits,
        elders=sums["elders"] or 0,
        amount=_money(sums["amount"]),
        account_amount=_money(sums["account"]),
        self_amount=_money(sums["own"]),
        partial=visits != settlement.visit_count,
    )


def statement_view(
    actor: Any, settlement_id: int, *, region: str | None = None
) -> tuple[Settlement, QuerySet[SettlementLine], LineTotals]:
    """One statement in the actor's scope, the lines they may see of it and those lines' totals."""
    settlement = settlement_get(actor, settlement_id)
    code = line_region(actor, region)
    lines = settlement_lines(settlement, region=code)
    return settlement, lines, line_totals(settlement, lines, code)


def region_figures(actor: Any, settlement_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per statement, the visits and amount of the actor's own region on it, where line_region limits what
    the actor sees; empty when it does not."""
    code = line_region(actor) if is_person(actor) and (actor.region_id or actor.is_superuser) else None
    if not code or not settlement_ids:
        return {}
    rows = (
        SettlementLine.objects.filter(
            codes.within(code, "visit__order__region_id"), settlement_id__in=settlement_ids
        )
        .values("settlement_id")
        .annotate(n=Count("pk"), amount=Sum("amount"))
        .order_by()
    )
    found = {row["settlement_id"]: {"visits": row["n"], "amount": _money(row["amount"])} for row in rows}
    return {pk: found.get(pk, {"visits": 0, "amount": _ZERO}) for pk in settlement_ids}


def flags_with_holds(
    actor: Any, *, status: str | None = None, kind: str | None = None, region: str | None = None
) -> QuerySet[FraudFlag]:
    """fraud.flag_list, each flag with whether its visit is held out of settlement (`held`: an open or
    confirmed flag and no statement yet) and the statement it is on (`statement_id`, `statement_period`)."""
    on_statement = SettlementLine.objects.filter(visit_id=OuterRef("visit_id"))
    return flag_list(actor, status=status, kind=kind, region=region).annotate(
        holding=holds("visit_id"),
        statement_id=Subquery(on_statement.values("settlement_id")[:1]),
        statement_period=Subquery(on_statement.values("settlement__period")[:1]),
    )


def reconciliation(actor: Any, period: str, region: str | None = None) -> list[dict[str, Any]]:
    """Per provider, the month's confirmed visits (on a statement, held with their flags, unsettled), the
    period's statement lines with their subsidy/self-pay split, and the service-account debits the
    ledger recorded for those visits: `matches` when the statement's account part equals them."""
    if is_person(actor):
        require_perm(actor, Perm.SETTLEMENT_VIEW)
    start, end = parse_period(period)
    label = f"{start:%Y-%m}"
    region_code = _region(actor, region)
    scope = _visit_scope(actor, region_code)
    line_scope = _visit_scope(actor, region_code, "visit__")
    if scope is None or line_scope is None:
        return []
    on_statement = Exists(SettlementLine.objects.filter(visit=OuterRef("pk")))
    visits = (
        Visit.objects.filter(
            scope, confirmed_at__gte=start, confirmed_at__lt=end, order__provider__isnull=False
        )
        .annotate(is_settled=on_statement, is_held=HELD)
        .values("order__provider_id")
        .annotate(
            confirmed=Count("pk"),
            settled=Count("pk", filter=Q(is_settled=True)),
            held=Count("pk", filter=Q(is_settled=False, is_held=True)),
            unsettled=Count("pk", filter=Q(is_settled=False, is_held=False)),
        )
        .order_by()
    )
    flags = (
        FraudFlag.objects.filter(
            line_scope,
            status__in=HOLDING,
            visit__confirmed_at__gte=start,
            visit__confirmed_at__lt=end,
            visit__settlement_line__isnull=True,
        )
        .values("visit__order__provider_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    debit = Subquery(
        LedgerEntry.objects.filter(pk=OuterRef("visit__ledger_entry_id")).values("amount")[:1],
        output_field=DecimalField(max_digits=12, decimal_places=2),
    )
    lines = (
        SettlementLine.objects.filter(line_scope, settlement__period=label)
        .annotate(debit=debit)
        .values("settlement__provider_id")
        .annotate(
            n=Count("pk"),
            amount=Sum("amount"),
            account=Sum("account_amount"),
            own=Sum("self_amount"),
            ledger=Sum("debit"),
        )
        .order_by()
    )
    rows: dict[int, dict[str, Any]] = {}

    def row(pid: int) -> dict[str, Any]:
        return rows.setdefault(
            pid,
            {
                "provider_id": pid,
                "provider": "",
                "confirmed": 0,
                "settled": 0,
                "held": 0,
                "flags": 0,
                "unsettled": 0,
                "settlement_id": None,
                "status": "",
                "statement_visits": 0,
                "amount": _ZERO,
                "account_amount": _ZERO,
                "self_amount": _ZERO,
                "ledger_debits": _ZERO,
                "matches": True,
            },
        )

    for counted in visits:
        row(counted["order__provider_id"]).update(
            {k: counted[k] for k in ("confirmed", "settled", "held", "unsettled")}
        )
    for flagged in flags:
        row(flagged["visit__order__provider_id"])["flags"] = flagged["n"]
    for summed in lines:
        row(summed["settlement__provider_id"]).update(
            statement_visits=summed["n"],
            amount=_money(summed["amount"]),
            account_amount=_money(summed["account"]),
            self_amount=_money(summed["own"]),
            # Debits are negative entries in the ledger.
            ledger_debits=_ZERO - _money(summed["ledger"]),
        )
    for pid, sid, status in Settlement.objects.filter(period=label, provider_id__in=list(rows)).values_list(
        "provider_id", "pk", "status"
    ):
        rows[pid].update(settlement_id=sid, status=status)
    names = dict(Provider.objects.filter(pk__in=list(rows)).values_list("pk", "organisation__name"))
    for pid, found_row in rows.items():
        found_row["provider"] = names.get(pid, "")
        found_row["matches"] = found_row["account_amount"] == found_row["ledger_debits"]
    return sorted(rows.values(), key=lambda r: (r["provider"], r["provider_id"]))


# ------------------------------------------------------------------------------------------ the statement


def _local(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def statement_xlsx(
    settlement: Settlement, *, mask: bool = True, actor: Any = None, region: str | None = None
) -> bytes:
    """The provider's Excel statement: a summary sheet and one row per visit the actor may see
    (line_region: a district clerk their region's elders, with those rows' totals labelled as theirs).
    ID numbers are masked unless mask=False, which is recorded in the audit trail (DESIGN.md rule 5)."""
    provider = Provider.objects.select_related("organisation").get(pk=settlement.provider_id)
    code = line_region(actor, region)
    visible = settlement_lines(settlement, region=code)
    lines = list(visible)
    totals = line_totals(settlement, visible, code)
    if not mask:
        with transaction.atomic():
            audit.record(
                actor or "system",
                "settlement.export_unmasked",
                settlement,
                region_code=code or provider.organisation.region_id,
                after={"period": settlement.period, "rows": len(lines), "region": code or ""},
            )
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2"})
    money = book.add_format({"num_format": "#,##0.00"})
    money_bold = book.add_format({"num_format": "#,##0.00", "bold": True, "bg_color": "#F2F2F2"})

    summary = book.add_worksheet("结算汇总")
    summary.set_column(0, 0, 20)
    summary.set_column(1, 1, 36)
    summary.write_row(0, 0, ("项目", "内容"), bold)
    facts: list[tuple[str, Any]] = [
        ("服务机构", provider.organisation.name),
        ("统一社会信用代码", provider.organisation.credit_code or ""),
        ("结算月份", settlement.period),
        ("状态", str(SettlementStatus(settlement.status).label)),
        ("服务次数", settlement.visit_count),
        (
            "服务老人数",
            SettlementLine.objects.filter(settlement=settlement)
            .values("visit__order__elder_id")
            .distinct()
            .count()
            if totals.partial
            else totals.elders,
        ),
        ("服务金额（元）", settlement.amount),
        ("服务账户支付（元）", settlement.account_amount),
        ("个人自付（元）", settlement.self_amount),
        ("对账时间", _local(settlement.closed_at)),
        ("制表时间", _local(timezone.now())),
    ]
    if totals.partial:
        # The clerk's part of a statement shared with other districts: named as such, never passed off
        # as the statement's totals.
        name = Region.objects.filter(code=code).values_list("name", flat=True).first() or code
        facts += [
            ("明细范围", f"仅含{name}（{code}）辖区内老人的服务，结算单其余服务不在本表"),
            ("本辖区服务次数", totals.visits),
            ("本辖区服务老人数", totals.elders),
            ("本辖区服务金额（元）", totals.amount),
            ("本辖区服务账户支付（元）", totals.account_amount),
            ("本辖区个人自付（元）", totals.self_amount),
        ]
    for index, (name, value) in enumerate(facts, start=1):
        summary.write_string(index, 0, name)
        if isinstance(value, Decimal):
            summary.write_number(index, 1, float(value), money)
        elif isinstance(value, int):
            summary.write_number(index, 1, value)
        else:
            summary.write_string(index, 1, str(value))

    detail = book.add_worksheet("服务明细")
    headers = (
        "序号",
        "工单号",
        "服务日期",
        "老人姓名",
        "身份证号码",
        "服务项目",
        "护理员",
        "签到时间",
        "签退时间",
        "服务时长（分钟）",
        "服务金额（元）",
        "服务账户支付（元）",
        "个人自付（元）",
        "评分",
    )
    detail.write_row(0, 0, headers, bold)
    detail.set_column(0, 13, 14)
    detail.set_column(4, 4, 22)
    for index, line in enumerate(lines, start=1):
        visit = line.visit
        order = visit.order
        number = order.elder.id_number or ""
        minutes = (
            round((visit.check_out_at - visit.check_in_at).total_seconds() / 60) if visit.check_out_at else ""
        )
        detail.write_row(
            index,
            0,
            (
                index,
                str(order.pk),
                timezone.localtime(visit.check_in_at).strftime("%Y-%m-%d"),
                order.elder.name,
                pii.mask_id_number(number) if mask else number,
                order.item.name,
                visit.worker.name,
                _local(visit.check_in_at),
                _local(visit.check_out_at),
                minutes,
            ),
        )
        for column, value in enumerate((line.amount, line.account_amount, line.self_amount), start=10):
            detail.write_number(index, column, float(value), money)
        if visit.rating is not None:
            detail.write_number(index, 13, visit.rating)
    end = len(lines) + 1
    detail.write_string(end, 0, "本辖区合计" if totals.partial else "合计", bold)
    detail.write_number(end, 1, len(lines), bold)
    for column, value in enumerate((totals.amount, totals.account_amount, totals.self_amount), start=10):
        detail.write_number(end, column, float(value), money_bold)
    book.close()
    return buffer.getvalue()
