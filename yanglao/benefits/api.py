"""The benefits API: programmes, runs, entitlements with filters, differences, and an elder's account.

(No `from __future__ import annotations` here: django-ninja reads `Query[...]` parameters at import.)"""

from datetime import date, datetime
from decimal import Decimal

from ninja import Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from yanglao.accounts.scope import require_perm
from yanglao.benefits import selectors, services
from yanglao.benefits.models import BenefitRun, Entitlement, Programme
from yanglao.core.errors import InvalidInput
from yanglao.core.permissions import Perm
from yanglao.registry import selectors as registry_selectors

router = Router(tags=["benefits"])


def _period(raw: str) -> date:
    try:
        year, month = (int(part) for part in raw.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise InvalidInput(f"期间“{raw}”无效，应写作 2026-11", field="period") from None


class ProgrammeOut(Schema):
    code: str
    version: int
    pack: str
    name: str
    jurisdiction: str
    target: str
    payment: str
    frequency: str
    valid_from: date
    valid_until: date | None
    assumed: list[str]
    rule: dict


@router.get("/programmes", response=list[ProgrammeOut], summary="Current programme versions")
def programmes(request):
    require_perm(request.user, Perm.DASHBOARD_VIEW)
    return Programme.objects.filter(is_current=True).order_by("code")


class RunIn(Schema):
    period: str
    programme: str = ""
    region: str = ""


class RunOut(Schema):
    id: int
    period: date
    state: str
    programmes_done: list[str]
    totals: dict
    finished_at: datetime | None


@router.post("/runs", response={201: RunOut}, summary="Compute a month's entitlements")
def run(request, body: RunIn):
    done = services.benefits_run(
        actor=request.user,
        period=_period(body.period),
        programme=body.programme or None,
        region=body.region or None,
    )
    return Status(201, done)


@router.get("/runs", response=list[RunOut], summary="Recent runs with their totals, differences and back-pay")
@paginate(PageNumberPagination, page_size=50)
def runs(request, period: str = ""):
    """The city's runs, newest first (totals are city money figures: benefits.run only)."""
    require_perm(request.user, Perm.BENEFITS_RUN)
    found = BenefitRun.objects.order_by("-created_at", "-id")
    return found.filter(period=_period(period)) if period else found


class EntitlementOut(Schema):
    id: int
    programme_code: str
    target: str
    beneficiary_id: int
    region_code: str
    period: date
    amount: Decimal
    reason: str
    payment: str
    state: str
    kind: str


class EntitlementFilters(Schema):
    period: str
    programme: str = ""
    region: str = ""
    state: str = ""


@router.get("/entitlements", response=list[EntitlementOut], summary="Entitlements of a period in scope")
@paginate(PageNumberPagination, page_size=100)
def entitlements(request, filters: Query[EntitlementFilters]):
    """Scoped to the caller's region (the entitlement's region code lies under it)."""
    if not (request.user.has_perm(Perm.BENEFITS_RUN) or request.user.has_perm(Perm.BENEFITS_REVIEW)):
        require_perm(request.user, Perm.BENEFITS_REVIEW)
    rows = selectors.scoped(request.user, Entitlement.objects.filter(period=_period(filters.period)))
    rows = rows.order_by("programme_code", "beneficiary_id")
    if filters.programme:
        rows = rows.filter(programme_code=filters.programme)
    if filters.region:
        rows = rows.filter(region_code__startswith=filters.region)
    if filters.state:
        if filters.state not in Entitlement.State.values:
            raise InvalidInput(f"状态“{filters.state}”无效", field="state")
        rows = rows.filter(state=filters.state)
    return rows


@router.get("/differences", summary="New, stopped and changed beneficiaries against the previous period")
def differences(request, period: str, programme: str):
    require_perm(request.user, Perm.BENEFITS_REVIEW)
    region = "" if request.user.is_superuser else (request.user.region_id or "~")
    found = selectors.differences(programme, _period(period), region=region)
    return {
        "new": found.new,
        "stopped": found.stopped,
        "changed": found.changed,
        "samples": {
            kind: [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()} for row in rows]
            for kind, rows in found.samples.items()
        },
    }


class ReviewIn(Schema):
    period: str
    district: str


@router.post("/reviews", summary="A district confirms its entitlements for a period")
def review(request, body: ReviewIn):
    count = services.entitlements_review(
        actor=request.user, period=_period(body.period), district=body.district
    )
    return {"reviewed": count}


class ApproveIn(Schema):
    period: str


@router.post("/approvals", summary="The city approves a reviewed period")
def approve(request, body: ApproveIn):
    return services.entitlements_approve(actor=request.user, period=_period(body.period))


@router.get("/elders/{elder_id}", summary="One elder's entitlements and service account")
def elder_benefits(request, elder_id: int):
    elder = registry_selectors.elder_get(request.user, elder_id)
    found = selectors.elder_benefits(elder.pk)
    return {
        "balance": str(found["balance"]),
        "entitlements": [
            {**row, "amount": str(row["amount"]), "period": row["period"].isoformat()}
            for row in found["entitlements"]
        ],
        "ledger": [{**row, "amount": str(row["amount"])} for row in found["ledger"]],
        "bank": found["bank"],
    }


class BankAccountIn(Schema):
    bank_name: str
    account_name: str
    account_number: str


@router.put("/elders/{elder_id}/bank-account", summary="Register or change where an elder's cash is paid")
def bank_account(request, elder_id: int, body: BankAccountIn):
    """elders.edit within scope; the answer shows the number masked (the audit trail too)."""
    elder = registry_selectors.elder_get(request.user, elder_id)
    account = services.bank_account_set(actor=request.user, elder=elder, **body.dict())
    return {
        "bank_name": account.bank_name,
        "account_name": account.account_name,
        "account": account.masked_number,
    }
