"""Screens of monthly settlement and its checks (DOMAIN.md §5): the providers' statements with the form that
runs a month, one statement with its lines, its reconciliation (对账) behind a confirmation and its Excel
download; the reconciliation report against the service accounts; the fraud flags with their evidence and
their review; the follow-up calls (回访) waiting to be made.

What a district clerk sees of a statement shared by several districts is their own region's elders, with
those lines' totals labelled as theirs (settlement.line_region). Each view parses input, calls one
selector or service, and renders; a service's error is shown beside its field, refusals are pages of
their own (core.middleware)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yanglao.accounts.roles import ORGANISATION_BOUND
from yanglao.accounts.scope import covers, require_perm
from yanglao.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.orders import fraud, selectors, services
from yanglao.orders import settlement as st
from yanglao.orders.enums import FlagKind, FlagStatus, FollowUpOutcome, SettlementStatus
from yanglao.orders.models import FraudFlag, Settlement
from yanglao.orders.views import reraise_refusal
from yanglao.providers import selectors as provider_selectors
from yanglao.regions.models import Region
from yanglao.registry.views import region_choices

PAGE_SIZE = 50
LINES_PAGE_SIZE = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Where a run's figures wait for the page the run redirects to (shown once).
_RUN_KEY = "orders.settlement_run"


def last_month() -> str:
    return f"{timezone.localdate().replace(day=1) - timedelta(days=1):%Y-%m}"


def may_run(user: Any) -> bool:
    """Runs and reconciliations (对账) are for staff who both read statements and dispatch orders."""
    return user.has_perm(Perm.SETTLEMENT_VIEW) and user.has_perm(Perm.ORDERS_DISPATCH)


def _query(params: Any, *drop: str) -> str:
    query = params.copy()
    for name in ("page", *drop):
        query.pop(name, None)
    return str(query.urlencode())


def _with_default(params: Any, name: str, default: str) -> str:
    """The filter's value; its default only when the page is opened without it (an emptied box means all)."""
    return str(params.get(name, "")).strip() if name in params else default


def _provider_id(raw: str, field: str = "provider") -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput("请选择服务机构", field=field)
    return int(raw)


def _region_levels(user: Any, region: str) -> list[dict[str, Any]]:
    if user.role in ORGANISATION_BOUND and not user.is_superuser:
        return []
    return region_choices(user, region) if user.region_id or user.is_superuser else []


def _region_name(code: str | None) -> str:
    if not code:
        return ""
    return str(Region.objects.filter(code=code).values_list("name", flat=True).first() or code)


# --- statements -----------------------------------------------------------------------------------
def _list_page(
    request: Any,
    *,
    run_values: dict[str, str] | None = None,
    run_errors: dict[str, str] | None = None,
    status: int = 200,
):
    user = request.user
    params = request.GET
    filters = {
        "period": _with_default(params, "period", last_month()),
        "provider": params.get("provider", "").strip(),
        "status": params.get("status", "").strip(),
    }
    error = None
    statements = Settlement.objects.none()
    try:
        statements = st.settlement_list(
            user,
            period=filters["period"],
            provider=_provider_id(filters["provider"]),
            status=filters["status"],
        )
    except InvalidInput as problem:
        error = problem
    page = Paginator(statements, PAGE_SIZE).get_page(params.get("page"))
    figures = st.region_figures(user, [s.pk for s in page.object_list])
    # The column of the user's own part appears only where some statement on the page is shared.
    shared = any(figures[s.pk]["visits"] != s.visit_count for s in page.object_list if s.pk in figures)
    run = request.session.pop(_RUN_KEY, None) if request.method == "GET" else None
    context = {
        "filters": filters,
        "error": error,
        "page": page,
        "rows": [(s, figures.get(s.pk)) for s in page.object_list],
        "query": _query(params),
        "statuses": SettlementStatus.choices,
        "providers": list(provider_selectors.providers_visible(user).order_by("organisation__name", "pk")),
        "may_run": may_run(user),
        "run_values": run_values or {"period": last_month(), "provider": ""},
        "run_errors": run_errors or {},
        "run": run,
        "region_name": _region_name(user.region_id) if shared else "",
    }
    return render(request, "orders/settlements.html", context, status=status)


@login_required
def settlement_list(request):
    """The statements in the user's scope by month (last month when opened), provider and status, with
    their figures; the run form for those who settle."""
    require_perm(request.user, Perm.SETTLEMENT_VIEW)
    return _list_page(request)


@login_required
@require_POST
def settlement_run(request):
    """Settle a month: every confirmed visit not yet on a statement and not held by a flag goes on its
    provider's statement; the page then shows what this run added, held back and left waiting."""
    user = request.user
    if not may_run(user):
        raise PermissionDenied("您的角色不能进行服务结算")
    values = {
        "period": request.POST.get("period", "").strip(),
        "provider": request.POST.get("provider", "").strip(),
    }
    try:
        done = st.settlement_run(
            actor=user, period=values["period"], provider=_provider_id(values["provider"])
        )
    except DomainError as error:
        if isinstance(error, PermissionDenied) or (isinstance(error, NotFound) and not error.field):
            raise
        field = error.field if error.field in values else "form"
        return _list_page(request, run_values=values, run_errors={field: error.message}, status=error.status)
    period = values["period"]
    request.session[_RUN_KEY] = {
        "period": period,
        "rows": [
            {
                "settlement": s.pk,
                "provider": s.provider.name,
                "status": str(SettlementStatus(s.status).label),
                "added": s.run.added,  # type: ignore[attr-defined]
                "held": s.run.held,  # type: ignore[attr-defined]
                "waiting": s.run.waiting,  # type: ignore[attr-defined]
                "note": s.run.note,  # type: ignore[attr-defined]
                "visits": s.visit_count,
                "amount": str(s.amount),
            }
            for s in done
        ],
    }
    added = sum(s.run.added for s in done)  # type: ignore[attr-defined]
    if done:
        messages.success(
            request,
            _("%(period)s 结算完成：%(n)s 家机构，本次计入 %(added)s 次服务")
            % {"period": period, "n": len(done), "added": added},
        )
    else:
        messages.info(request, _("%(period)s 没有待结算的服务") % {"period": period})
    return redirect(f"{reverse('orders:settlements')}?{urlencode({'period': period})}")


def _can_close(user: Any, settlement: Settlement) -> bool:
    return (
        may_run(user)
        and settlement.status == SettlementStatus.OPEN
        and covers(user, settlement.provider.organisation.region_id)
    )


@login_required
def settlement_detail(request, settlement_id: int):
    """One statement: the lines the user may see with links to their orders, their totals (labelled as the
    user's region's part when the statement has other districts' lines), the download and 对账."""
    user = request.user
    require_perm(user, Perm.SETTLEMENT_VIEW)
    settlement, lines, totals = st.statement_view(user, settlement_id)
    page = Paginator(lines, LINES_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "settlement": settlement,
        "page": page,
        "totals": totals,
        "region_name": _region_name(totals.region),
        "query": "",
        "can_close": _can_close(user, settlement),
        "masked_export": not user.has_perm(Perm.PII_VIEW),
    }
    return render(request, "orders/settlement_detail.html", context)


@login_required
def settlement_close(request, settlement_id: int):
    """对账: a page that says what closing means and asks to confirm; only the confirmed POST closes."""
    user = request.user
    require_perm(user, Perm.SETTLEMENT_VIEW)
    settlement, _lines, totals = st.statement_view(user, settlement_id)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            st.settlement_close(actor=user, settlement=settlement)
        except DomainError as error:
            reraise_refusal(error)
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("%(provider)s %(period)s 结算单已对账，不再计入新的服务")
                % {"provider": settlement.provider.name, "period": settlement.period},
            )
        return redirect("orders:settlement_detail", settlement_id=settlement.pk)
    if not may_run(user):
        raise PermissionDenied("您的角色不能对账")
    context = {
        "settlement": settlement,
        "totals": totals,
        "region_name": _region_name(totals.region),
        "can_close": _can_close(user, settlement),
    }
    return render(request, "orders/settlement_close.html", context)


@login_required
def settlement_xlsx(request, settlement_id: int):
    """The Excel statement of the lines the user may see; ID numbers masked unless the role may see
    them (an unmasked file is audited)."""
    user = request.user
    require_perm(user, Perm.SETTLEMENT_VIEW)
    settlement = st.settlement_get(user, settlement_id)
    content = st.statement_xlsx(settlement, mask=not user.has_perm(Perm.PII_VIEW), actor=user)
    filename = f"服务结算单_{settlement.provider.name}_{settlement.period}.xlsx"
    return FileResponse(io.BytesIO(content), as_attachment=True, filename=filename, content_type=XLSX)


# --- reconciliation -------------------------------------------------------------------------------
_SUMMED = (
    "confirmed",
    "settled",
    "held",
    "flags",
    "unsettled",
    "statement_visits",
    "amount",
    "account_amount",
    "self_amount",
    "ledger_debits",
)


@login_required
def reconciliation(request):
    """Per provider, the month's confirmed visits (on a statement, held, unsettled) and the statement's
    subsidy part against the service-account debits, a mismatch marked, with a totals row."""
    user = request.user
    require_perm(user, Perm.SETTLEMENT_VIEW)
    period = _with_default(request.GET, "period", last_month()) or last_month()
    region = request.GET.get("region", "").strip()
    error = None
    rows: list[dict[str, Any]] = []
    try:
        rows = st.reconciliation(user, period, region or None)
    except InvalidInput as problem:
        error = problem
    totals: dict[str, Any] = {name: 0 for name in _SUMMED}
    for row in rows:
        for name in _SUMMED:
            totals[name] += row[name]
    for name in ("amount", "account_amount", "self_amount", "ledger_debits"):
        totals[name] = Decimal(totals[name]).quantize(Decimal("0.00"))
    context = {
        "period": period,
        "region": region,
        "error": error,
        "rows": rows,
        "totals": totals,
        "mismatches": sum(1 for row in rows if not row["matches"]),
        "region_levels": _region_levels(user, region),
        "statuses": dict(SettlementStatus.choices),
    }
    return render(request, "orders/reconciliation.html", context)


# --- fraud flags ----------------------------------------------------------------------------------
def _at(value: Any) -> str:
    if not value:
        return "—"
    try:
        return timezone.localtime(datetime.fromisoformat(str(value))).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(value)


def _number(value: Any) -> str:
    """12345.6 → "12,346"; below 100 one decimal is kept where there is one (29.9 is not the limit 30)."""
    if value is None or value == "":
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if abs(number) < 100 and round(number, 1) != round(number):
        return f"{number:.1f}"
    return f"{round(number):,}"


def _metres(value: Any) -> str:
    return "—" if value is None else f"{_number(value)} 米"


def _minutes(value: Any) -> str:
    return "—" if value is None else f"{_number(value)} 分钟"


def _position(point: Any) -> str:
    if not isinstance(point, dict) or point.get("latitude") is None:
        return "—"
    return f"{point['latitude']:.5f}, {point['longitude']:.5f}"


def _evidence(flag: FraudFlag, readable: set[int]) -> dict[str, Any]:
    """The flag's evidence as rows a clerk reads (label, value), the other visit it points to (linked when
    the user may open it) and, for a reused photo, the two photos."""
    found = flag.evidence or {}
    kind = flag.kind
    rows: list[tuple[str, str]] = []
    policy = found.get("policy") or {}
    if kind == FlagKind.FAR_CHECK_IN:
        accuracy = (found.get("check_in") or {}).get("accuracy_m")
        rows = [
            (_("签到时间"), _at(found.get("check_in_at"))),
            (_("签到距住址"), _metres(found.get("distance_m"))),
            (_("允许范围"), _metres(policy.get("orders.geofence_m"))),
            (_("签到位置"), _position(found.get("check_in"))),
            (_("老人住址位置"), _position(found.get("home"))),
        ]
        if accuracy is not None:
            rows.append((_("定位精度"), _metres(accuracy)))
    elif kind == FlagKind.SHORT_DURATION:
        rows = [
            (_("签到 – 签退"), f"{_at(found.get('check_in_at'))} – {_at(found.get('check_out_at'))}"),
            (_("实际服务时长"), _minutes(found.get("minutes"))),
            (_("标准时长"), _minutes(found.get("standard_minutes"))),
            (
                _("最低时长"),
                f"{_minutes(found.get('limit_minutes'))}"
                f"（{policy.get('orders.min_duration_percent', '—')}%）",
            ),
        ]
    elif kind == FlagKind.OVERLAP:
        rows = [
            (_("本次服务"), f"{_at(found.get('check_in_at'))} – {_at(found.get('check_out_at'))}"),
            (
                _("另一次服务"),
                f"{_at(found.get('other_check_in_at'))} – {_at(found.get('other_check_out_at'))}",
            ),
            (_("重叠时长"), _minutes(found.get("overlap_minutes"))),
            (_("重叠服务次数"), str(found.get("overlapping_visits", 1))),
        ]
    elif kind == FlagKind.IMPOSSIBLE_TRAVEL:
        left = _("签退") if found.get("left_by") == "check_out" else _("签到")
        rows = [
            (_("上一次服务离开"), f"{_at(found.get('left_at'))}（{left}）"),
            (_("本次签到"), _at(found.get("check_in_at"))),
            (_("两地距离"), _metres(found.get("distance_m"))),
            (_("间隔"), _minutes(found.get("minutes"))),
            (_("折合时速"), f"{_number(found.get('speed_kmh'))} 公里/小时"),
            (_("合理上限"), f"{_number(policy.get('orders.max_travel_kmh'))} 公里/小时"),
        ]
    elif kind == FlagKind.AFTER_DEATH:
        rows = [
            (_("登记死亡日期"), str(found.get("death_date") or "—")),
            (_("签到时间"), _at(found.get("check_in_at"))),
        ]
    elif kind == FlagKind.IN_HOSPITAL:
        discharge = found.get("discharge") or {}
        rows = [
            (_("住院日期"), str((found.get("admission") or {}).get("on") or "—")),
            (_("出院日期"), str(discharge.get("on") or _("尚未登记出院"))),
            (_("签到时间"), _at(found.get("check_in_at"))),
        ]
    elif kind == FlagKind.PHOTO_REUSED:
        rows = [
            (
                _("感知哈希差异"),
                f"{found.get('bits')} 位（不超过 {found.get('threshold_bits')} 位视为同一张）",
            ),
            (_("涉及服务次数"), str(found.get("match_count", 1))),
            (_("另一次服务签到"), _at(found.get("other_check_in_at") or _first_match(found))),
        ]
    elif kind == FlagKind.NOT_SERVED:
        rows = [
            (_("签到 – 签退"), f"{_at(found.get('check_in_at'))} – {_at(found.get('check_out_at'))}"),
            (_("回访记录"), str(found.get("follow_up_note") or "—")),
        ]
    other = found.get("other_order")
    photos = None
    order_id = flag.visit.order_id
    if kind == FlagKind.PHOTO_REUSED and found.get("photo"):
        photos = {
            "this": reverse("orders:photo", args=[order_id, found["photo"]]),
            "other": (
                reverse("orders:photo", args=[other, found["other_photo"]])
                if other in readable and found.get("other_photo")
                else ""
            ),
        }
    return {
        "rows": rows,
        "other_order": other,
        "other_readable": other in readable,
        "photos": photos,
    }


def _first_match(found: dict[str, Any]) -> Any:
    matches = found.get("matches") or []
    return matches[0].get("other_check_in_at") if matches else None


def _flag_filters(params: Any) -> dict[str, str]:
    return {
        "status": _with_default(params, "status", FlagStatus.OPEN),
        "kind": params.get("kind", "").strip(),
        "region": params.get("region", "").strip(),
    }


def _flags_page(
    request: Any,
    params: Any,
    *,
    failed: int | None = None,
    error: DomainError | None = None,
    status: int = 200,
):
    user = request.user
    filters = _flag_filters(params)
    problem = None
    flags = FraudFlag.objects.none()
    try:
        flags = st.flags_with_holds(
            user,
            status=filters["status"] or None,
            kind=filters["kind"] or None,
            region=filters["region"] or None,
        )
    except InvalidInput as invalid:
        problem = invalid
    page = Paginator(flags, PAGE_SIZE).get_page(params.get("page"))
    others = {
        (flag.evidence or {}).get("other_order")
        for flag in page.object_list
        if isinstance((flag.evidence or {}).get("other_order"), int)
    }
    readable = set(selectors.orders_visible(user).filter(pk__in=others).values_list("pk", flat=True))
    errors: dict[str, str] = {}
    if failed is not None and error is not None:
        errors = {error.field if error.field in ("decision", "note") else "form": error.message}
    query = _query(params)
    shown = {flag.pk for flag in page.object_list}
    context = {
        "filters": filters,
        "error": problem,
        # A review refused for a flag no longer on this page (reviewed meanwhile): said above the list.
        "lost_error": error.message if error is not None and failed not in shown else "",
        "page": page,
        "rows": [(flag, _evidence(flag, readable)) for flag in page.object_list],
        "query": query,
        "kinds": FlagKind.choices,
        "statuses": FlagStatus.choices,
        "decisions": [
            (FlagStatus.CLEARED, FlagStatus.CLEARED.label),
            (FlagStatus.CONFIRMED, FlagStatus.CONFIRMED.label),
        ],
        "may_review": may_run(user),
        "region_levels": _region_levels(user, filters["region"]),
        "failed": failed,
        "errors": errors,
        "values": request.POST if failed is not None else {},
        "open": FlagStatus.OPEN,
    }
    return render(request, "orders/flags.html", context, status=status)


@login_required
def flag_list(request):
    """The fraud flags in the user's scope (the page opens on the open ones), each with its evidence made
    readable, whether it holds the visit out of settlement, and the review form for the district.
    Inspectors read them too: flags go to oversight (DOMAIN.md §5)."""
    if not request.user.has_perm(Perm.INSPECTIONS_PERFORM):
        require_perm(request.user, Perm.SETTLEMENT_VIEW)
    return _flags_page(request, request.GET)


@login_required
@require_POST
def flag_review(request, flag_id: int):
    """Clear (paid) or confirm (never paid) an open flag, with a note saying why."""
    user = request.user
    require_perm(user, Perm.SETTLEMENT_VIEW)
    flag = fraud.flags_visible(user).filter(pk=flag_id).first()
    if flag is None:
        raise NotFound("未找到该疑点，或不在您的管辖范围内")
    params = QueryDict(request.POST.get("query", ""))
    try:
        reviewed = fraud.flag_review(
            actor=user,
            flag=flag,
            decision=request.POST.get("decision", ""),
            note=request.POST.get("note", ""),
        )
    except DomainError as error:
        reraise_refusal(error)
        return _flags_page(request, params, failed=flag.pk, error=error, status=error.status)
    messages.success(
        request,
        _("工单 No.%(order)s 的疑点已核查：%(decision)s")
        % {"order": flag.visit.order_id, "decision": FlagStatus(reviewed.status).label},
    )
    back = reverse("orders:flags")
    query = _query(params)
    return redirect(f"{back}?{query}" if query else back)


# --- follow-up calls ------------------------------------------------------------------------------
def _follow_ups_page(
    request: Any, *, failed: int | None = None, error: DomainError | None = None, status: int = 200
):
    user = request.user
    params = request.GET
    page = Paginator(selectors.follow_ups_due(user), PAGE_SIZE).get_page(params.get("page"))
    errors: dict[str, str] = {}
    if failed is not None and error is not None:
        errors = {error.field if error.field in ("outcome", "note") else "form": error.message}
    shown = {f.visit.order_id for f in page.object_list}
    context = {
        "page": page,
        "query": "",
        # A call recorded meanwhile by someone else: its row is gone, so the error goes above the list.
        "lost_error": error.message if error is not None and failed not in shown else "",
        "outcomes": [c for c in FollowUpOutcome.choices if c[0] != FollowUpOutcome.PENDING],
        "may_reveal": user.has_perm(Perm.PII_VIEW) and user.has_perm(Perm.ELDERS_VIEW),
        "failed": failed,
        "errors": errors,
        "values": request.POST if failed is not None else {},
    }
    return render(request, "orders/follow_ups.html", context, status=status)


@login_required
def follow_up_list(request):
    """The sampled visits waiting for their follow-up call, oldest first, with the form for the outcome."""
    require_perm(request.user, Perm.VISITS_CARE)
    return _follow_ups_page(request)


@login_required
@require_POST
def follow_up_save(request, order_id: int):
    """The outcome of one follow-up call; 'nobody came' opens a fraud flag (services.follow_up_record)."""
    user = request.user
    require_perm(user, Perm.VISITS_CARE)
    order = selectors.order_get(user, order_id)
    try:
        done = services.follow_up_record(
            actor=user,
            order=order,
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
        )
    except DomainError as error:
        reraise_refusal(error)
        return _follow_ups_page(request, failed=order.pk, error=error, status=error.status)
    messages.success(
        request,
        _("工单 No.%(order)s 回访结果已记录：%(outcome)s")
        % {"order": order.pk, "outcome": done.get_outcome_display()},
    )
    return redirect("orders:follow_ups")


urlpatterns = [
    path("settlements/", settlement_list, name="settlements"),
    path("settlements/run/", settlement_run, name="settlement_run"),
    path("settlements/<int:settlement_id>/", settlement_detail, name="settlement_detail"),
    path("settlements/<int:settlement_id>/close/", settlement_close, name="settlement_close"),
    path("settlements/<int:settlement_id>/statement.xlsx", settlement_xlsx, name="settlement_xlsx"),
    path("reconciliation/", reconciliation, name="reconciliation"),
    path("flags/", flag_list, name="flags"),
    path("flags/<int:flag_id>/review/", flag_review, name="flag_review"),
    path("follow-ups/", follow_up_list, name="follow_ups"),
    path("follow-ups/<int:order_id>/", follow_up_save, name="follow_up_save"),
]
