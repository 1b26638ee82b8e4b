"""The settlement API: providers' monthly statements (list, run, one with its lines, close, the Excel
statement), the reconciliation report, fraud flags and their review, and the follow-up calls waiting.
The same services and selectors as the pages (views/settlement.py), so both say the same thing; what a
district clerk sees of a statement shared with other districts is their region's lines, with those lines'
totals in `visible` (settlement.line_region).

(No `from __future__ import annotations` here: django-ninja reads the parameters' types at import.)"""

import io
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import FileResponse
from ninja import Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from yanglao.accounts.scope import require_perm
from yanglao.core.errors import NotFound
from yanglao.core.permissions import Perm
from yanglao.orders import fraud, selectors
from yanglao.orders import settlement as st
from yanglao.orders.enums import FlagKind, FlagStatus, SettlementStatus
from yanglao.orders.models import FollowUp, FraudFlag, Settlement, SettlementLine

router = Router(tags=["settlement"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- statements -----------------------------------------------------------------------------------
class SettlementOut(Schema):
    id: int
    provider_id: int
    provider_name: str
    period: str
    status: str
    status_label: str
    visit_count: int
    amount: Decimal
    account_amount: Decimal
    self_amount: Decimal
    closed_at: datetime | None
    closed_by: str

    @staticmethod
    def resolve_provider_name(settlement: Settlement) -> str:
        return settlement.provider.name

    @staticmethod
    def resolve_status_label(settlement: Settlement) -> str:
        return str(SettlementStatus(settlement.status).label)

    @staticmethod
    def resolve_closed_by(settlement: Settlement) -> str:
        person = settlement.closed_by
        return (person.full_name or person.get_username()) if person else ""


class RunOut(SettlementOut):
    """A statement as one run left it, with what the run did to it."""

    added: int
    held: int
    waiting: int
    note: str

    @staticmethod
    def resolve_added(settlement: Settlement) -> int:
        return settlement.run.added  # type: ignore[attr-defined]

    @staticmethod
    def resolve_held(settlement: Settlement) -> int:
        return settlement.run.held  # type: ignore[attr-defined]

    @staticmethod
    def resolve_waiting(settlement: Settlement) -> int:
        return settlement.run.waiting  # type: ignore[attr-defined]

    @staticmethod
    def resolve_note(settlement: Settlement) -> str:
        return settlement.run.note  # type: ignore[attr-defined]


class OfVisit(Schema):
    """Resolvers shared by the schemas whose rows each stand for one visit (statement lines, fraud
    flags, follow-up calls): what they show of its order, elder and worker is read through the visit
    one way for all three. Each schema declares its own fields (their order is the JSON's); a resolver
    for a field a schema does not declare is never called."""

    @staticmethod
    def resolve_order_id(row: SettlementLine | FraudFlag | FollowUp) -> int:
        return row.visit.order_id

    @staticmethod
    def resolve_elder_id(row: SettlementLine | FraudFlag | FollowUp) -> int:
        return row.visit.order.elder_id

    @staticmethod
    def resolve_elder_name(row: SettlementLine | FraudFlag | FollowUp) -> str:
        return row.visit.order.elder.name

    @staticmethod
    def resolve_region(row: SettlementLine | FraudFlag | FollowUp) -> str:
        return row.visit.order.region_id

    @staticmethod
    def resolve_item_name(row: SettlementLine | FraudFlag | FollowUp) -> str:
        return row.visit.order.item.name

    @staticmethod
    def resolve_worker_name(row: SettlementLine | FraudFlag | FollowUp) -> str:
        return row.visit.worker.name

    @staticmethod
    def resolve_confirmed_at(row: SettlementLine | FraudFlag | FollowUp) -> datetime | None:
        return row.visit.confirmed_at


class LineOut(OfVisit):
    visit_id: int
    order_id: int
    elder_id: int
    elder_name: str
    id_number: str  # always masked here; the Excel statement is the way to full numbers, and it is audited
    region: str
    item: str
    item_name: str
    worker_name: str
    check_in_at: datetime
    check_out_at: datetime | None
    confirmed_at: datetime | None
    amount: Decimal
    account_amount: Decimal
    self_amount: Decimal
    rating: int | None

    @staticmethod
    def resolve_id_number(line: SettlementLine) -> str:
        return line.visit.order.elder.masked_id_number

    @staticmethod
    def resolve_item(line: SettlementLine) -> str:
        return line.visit.order.item.code

    @staticmethod
    def resolve_check_in_at(line: SettlementLine) -> datetime:
        return line.visit.check_in_at

    @staticmethod
    def resolve_check_out_at(line: SettlementLine) -> datetime | None:
        return line.visit.check_out_at

    @staticmethod
    def resolve_rating(line: SettlementLine) -> int | None:
        return line.visit.rating


class VisibleOut(Schema):
    """What the lines the caller sees add up to; `partial` when the statement has lines of other
    districts' elders that are not shown (then these are not the statement's totals)."""

    region: str | None
    partial: bool
    visits: int
    elders: int
    amount: Decimal
    account_amount: Decimal
    self_amount: Decimal


class SettlementDetailOut(SettlementOut):
    visible: VisibleOut
    lines: list[LineOut]

    @staticmethod
    def resolve_visible(settlement: Settlement) -> dict[str, Any]:
        return settlement.visible_totals.__dict__  # type: ignore[attr-defined]

    @staticmethod
    def resolve_lines(settlement: Settlement) -> list[SettlementLine]:
        return settlement.visible_lines  # type: ignore[attr-defined]


@router.get("/settlements", response=list[SettlementOut], summary="Statements in the caller's scope")
@paginate(PageNumberPagination, page_size=50)
def list_settlements(request, period: str = "", provider: int | None = None, status: str = ""):
    require_perm(request.user, Perm.SETTLEMENT_VIEW)
    return st.settlement_list(request.user, period=period, provider=provider, status=status)


class RunIn(Schema):
    period: str
    provider_id: int | None = None
    region: str | None = None


@router.post("/settlements/run", response=list[RunOut], summary="Settle a month (idempotent)")
def run_settlement(request, body: RunIn):
    return st.settlement_run(
        actor=request.user, period=body.period, provider=body.provider_id, region=body.region or None
    )


@router.get(
    "/settlements/{settlement_id}",
    response=SettlementDetailOut,
    summary="One statement with the lines the caller may see",
)
def get_settlement(request, settlement_id: int):
    require_perm(request.user, Perm.SETTLEMENT_VIEW)
    settlement, lines, totals = st.statement_view(request.user, settlement_id)
    settlement.visible_totals = totals  # type: ignore[attr-defined]
    settlement.visible_lines = list(lines)  # type: ignore[attr-defined]
    return settlement


@router.post("/settlements/{settlement_id}/close", response=SettlementOut, summary="Reconcile (对账): final")
def close_settlement(request, settlement_id: int):
    require_perm(request.user, Perm.SETTLEMENT_VIEW)
    settlement = st.settlement_get(request.user, settlement_id)
    st.settlement_close(actor=request.user, settlement=settlement)
    return st.settlement_get(request.user, settlement_id)


@router.get(
    "/settlements/{settlement_id}/statement.xlsx",
    summary="The Excel statement (ID numbers masked unless the role may see them)",
)
def settlement_xlsx(request, settlement_id: int):
    user = request.user
    require_perm(user, Perm.SETTLEMENT_VIEW)
    settlement = st.settlement_get(user, settlement_id)
    content = st.statement_xlsx(settlement, mask=not user.has_perm(Perm.PII_VIEW), actor=user)
    return FileResponse(
        io.BytesIO(content),
        as_attachment=True,
        filename=f"服务结算单_{settlement.provider.name}_{settlement.period}.xlsx",
        content_type=XLSX,
    )


# --- reconciliation -------------------------------------------------------------------------------
class ReconciliationOut(Schema):
    provider_id: int
    provider: str
    confirmed: int
    settled: int
    held: int
    flags: int
    unsettled: int
    settlement_id: int | None
    status: str
    statement_visits: int
    amount: Decimal
    account_amount: Decimal
    self_amount: Decimal
    ledger_debits: Decimal
    matches: bool


@router.get(
    "/reconciliation",
    response=list[ReconciliationOut],
    summary="Per provider: the month's visits and statement against the service-account debits",
)
def get_reconciliation(request, period: str, region: str = ""):
    return st.reconciliation(request.user, period, region or None)


# --- fraud flags ----------------------------------------------------------------------------------
class FlagOut(OfVisit):
    id: int
    visit_id: int
    order_id: int
    kind: str
    kind_label: str
    status: str
    status_label: str
    summary: str
    evidence: dict
    detected_at: datetime
    region: str
    elder_name: str
    worker_id: int
    worker_name: str
    provider_name: str
    held: bool
    settlement_id: int | None
    reviewed_at: datetime | None
    reviewed_by: str
    review_note: str

    @staticmethod
    def resolve_kind_label(flag: FraudFlag) -> str:
        return str(FlagKind(flag.kind).label)

    @staticmethod
    def resolve_status_label(flag: FraudFlag) -> str:
        return str(FlagStatus(flag.status).label)

    @staticmethod
    def resolve_worker_id(flag: FraudFlag) -> int:
        return flag.visit.worker_id

    @staticmethod
    def resolve_provider_name(flag: FraudFlag) -> str:
        provider = flag.visit.order.provider
        return provider.name if provider else ""

    @staticmethod
    def resolve_held(flag: FraudFlag) -> bool:
        # Held out of settlement: an open or confirmed flag on a visit on no statement yet.
        return bool(getattr(flag, "holding", False)) and getattr(flag, "statement_id", None) is None

    @staticmethod
    def resolve_settlement_id(flag: FraudFlag) -> int | None:
        return getattr(flag, "statement_id", None)

    @staticmethod
    def resolve_reviewed_by(flag: FraudFlag) -> str:
        person = flag.reviewed_by
        return (person.full_name or person.get_username()) if person else ""


@router.get("/flags", response=list[FlagOut], summary="Fraud flags in the caller's scope, newest first")
@paginate(PageNumberPagination, page_size=50)
def list_flags(request, status: str = "", kind: str = "", region: str = ""):
    return st.flags_with_holds(request.user, status=status or None, kind=kind or None, region=region or None)


class ReviewIn(Schema):
    decision: str
    note: str = ""


@router.post("/flags/{flag_id}/review", response=FlagOut, summary="Clear or confirm an open flag")
def review_flag(request, flag_id: int, body: ReviewIn):
    flag = fraud.flags_visible(request.user).filter(pk=flag_id).first()
    if flag is None:
        raise NotFound("未找到该疑点，或不在您的管辖范围内")
    fraud.flag_review(actor=request.user, flag=flag, decision=body.decision, note=body.note)
    return st.flags_with_holds(request.user).get(pk=flag_id)


# --- follow-up calls ------------------------------------------------------------------------------
class FollowUpOut(OfVisit):
    id: int
    order_id: int
    elder_id: int
    elder_name: str
    phone: str  # masked: the registry reveals the full number to a role that may see it (audited)
    item_name: str
    worker_name: str
    confirmed_at: datetime | None
    sampled_at: datetime
    outcome: str

    @staticmethod
    def resolve_phone(follow_up: FollowUp) -> str:
        return follow_up.visit.order.elder.masked_phone


@router.get("/follow-ups", response=list[FollowUpOut], summary="Sampled visits waiting for their call")
@paginate(PageNumberPagination, page_size=50)
def list_follow_ups(request):
    require_perm(request.user, Perm.VISITS_CARE)
    return selectors.follow_ups_due(request.user)
