"""Staff screens of service orders (DOMAIN.md §5): the list, the new-order form, the order page with its
history and the actions the user's role and the order's state allow, the dispatch board, the provider's
work queue, and the 服务工单 tab on the elder's page."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yanglao.accounts.roles import Role
from yanglao.accounts.scope import require_perm
from yanglao.core import policy
from yanglao.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.orders import policies, selectors, services
from yanglao.orders.enums import (
    OPEN_STATUSES,
    Channel,
    FollowUpOutcome,
    OfferOutcome,
    OrderStatus,
)
from yanglao.orders.models import Order
from yanglao.orders.services import STEPS
from yanglao.orders.views import (
    actor_label,
    is_care_worker_only,
    next_url,
    reraise_refusal,
    visit_of,
)
from yanglao.orders.views.forms import OrderForm
from yanglao.providers import selectors as provider_selectors
from yanglao.providers.enums import WorkerStatus
from yanglao.registry import selectors as registry_selectors
from yanglao.registry.views import region_choices

PAGE_SIZE = 50
ELDER_MATCHES = 20
SORT_LABELS = {
    "-created": gettext_lazy("下单时间（新→旧）"),
    "created": gettext_lazy("下单时间（旧→新）"),
    "window": gettext_lazy("服务时间（早→晚）"),
    "-window": gettext_lazy("服务时间（晚→早）"),
}


def _require_reader(user: Any) -> None:
    if not selectors.may_read(user):
        raise PermissionDenied("您的角色不能查看服务工单")


# --- the list -------------------------------------------------------------------------------------
def _filters(params: Any) -> tuple[selectors.OrderFilter, InvalidInput | None]:
    """The list's filters from the query string, and the first date that could not be read."""
    problem = None
    days: dict[str, date | None] = {}
    for name in ("day_from", "day_to"):
        raw = params.get(name, "").strip()
        try:
            days[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            days[name] = None
            problem = problem or InvalidInput(f"日期“{raw}”无效，应写作 2026-11-05", field=name)
    elder = params.get("elder", "").strip()
    filters = selectors.OrderFilter(
        status=[v for v in params.getlist("status") if v.strip()],
        item=params.get("item", "").strip(),
        channel=params.get("channel", "").strip(),
        region=params.get("region", "").strip(),
        elder=int(elder) if elder.isdigit() else None,
        q=params.get("q", "").strip(),
        day_from=days["day_from"],
        day_to=days["day_to"],
        sort=params.get("sort", "").strip() or "-created",
    )
    return filters, problem


def _queries(request: Any) -> tuple[str, str]:
    """The list's query string without the page (for page links) and without the sort (for sort links)."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode(), urlencode([(k, v) for k, vs in query.lists() if k != "sort" for v in vs])


@login_required
def order_list(request):
    """Orders in the user's scope with filters, sorting, pages and the count per status; htmx requests
    get only the results."""
    user = request.user
    _require_reader(user)
    filters, error = _filters(request.GET)
    counts: dict[str, int] = {}
    queryset = selectors.orders_visible(user).none()
    if error is None:
        try:
            queryset = selectors.order_list(user, filters)
            counts = selectors.status_counts(selectors.order_list(user, replace(filters, status=[])))
        except InvalidInput as problem:
            error = problem
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query, sort_query = _queries(request)
    status_query = urlencode(
        [(k, v) for k, vs in request.GET.lists() if k not in ("status", "page") for v in vs]
    )
    context = {
        "filters": filters,
        "page": page,
        "error": error,
        "query": query,
        "sort_query": sort_query,
        "status_query": status_query,
        "counts": [(value, label, counts.get(value, 0)) for value, label in OrderStatus.choices],
        "total": sum(counts.values()),
        "statuses": OrderStatus.choices,
        "channels": Channel.choices,
        "items": provider_selectors.catalogue_items(),
        "sorts": SORT_LABELS,
        "region_levels": region_choices(user, filters.region) if user.region_id or user.is_superuser else [],
        "may_create": user.has_perm(Perm.ORDERS_CREATE),
        "filtered": bool(
            filters.status
            or filters.item
            or filters.channel
            or filters.region
            or filters.q
            or filters.day_from
            or filters.day_to
            or filters.elder
        ),
    }
    template = (
        "orders/_order_results.html"
        if request.htmx and not request.htmx.boosted
        else "orders/order_list.html"
    )
    return render(request, template, context)


# --- a new order ----------------------------------------------------------------------------------
def _default_channel(user: Any) -> str:
    return Channel.COMMUNITY if user.role == Role.COMMUNITY_WORKER else Channel.PHONE


def _default_window() -> tuple[Any, Any]:
    """From the next full hour plus one, for two hours: what a caller most often asks for."""
    now = timezone.localtime()
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    return start, start + timedelta(hours=2)


@login_required
def order_create(request):
    """Take an order for an elder found by name, ID or phone number (or arriving from the elder's page
    with ?elder=ID); on success the order page shows whom it was dispatched to and the code to read out."""
    user = request.user
    require_perm(user, Perm.ORDERS_CREATE)
    search = request.GET.get("q", "").strip()
    matches: list[Any] = []
    search_error = ""
    if search:
        try:
            matches = list(
                registry_selectors.elder_list(user, registry_selectors.ElderFilter(q=search))[:ELDER_MATCHES]
            )
        except InvalidInput as problem:
            search_error = problem.message
    if request.htmx and not request.htmx.boosted and request.method == "GET":
        return render(
            request,
            "orders/_elder_matches.html",
            {"matches": matches, "search": search, "search_error": search_error},
        )

    raw_elder = (request.POST.get("elder") if request.method == "POST" else request.GET.get("elder")) or ""
    elder, elder_error = None, ""
    if raw_elder.strip().isdigit():
        try:
            elder = registry_selectors.elder_get(user, int(raw_elder))
        except NotFound as problem:
            elder_error = problem.message
    start, end = _default_window()
    items = [(i.code, i.name) for i in provider_selectors.catalogue_items(active_only=True)]
    form = OrderForm(
        request.POST or None,
        initial={
            "elder": elder.pk if elder else None,
            "channel": _default_channel(user),
            "window_start": start,
            "window_end": end,
        },
        items=items,
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            if elder is None:
                form.add_error("elder", elder_error or _("请先查找并选择老年人"))
            else:
                try:
                    order = services.order_create(
                        actor=user,
                        elder=elder,
                        item=provider_selectors.catalogue_item_get(data["item"]),
                        channel=data["channel"],
                        window_start=data["window_start"],
                        window_end=data["window_end"],
                        note=data["note"],
                    )
                except DomainError as error:
                    if isinstance(error, PermissionDenied):
                        raise
                    if isinstance(error, NotFound) and not error.field:
                        error.field = "elder"
                    form.add_service_error(error)
                else:
                    if order.status == OrderStatus.DISPATCHED:
                        messages.success(
                            request,
                            _("服务工单 No.%(pk)s 已创建，已自动派给 %(provider)s，等待机构接单。")
                            % {"pk": order.pk, "provider": order.provider.name},
                        )
                    else:
                        messages.warning(
                            request,
                            _("服务工单 No.%(pk)s 已创建，但暂无可接单的服务机构，请人工派单。")
                            % {"pk": order.pk},
                        )
                    return redirect("orders:detail", order_id=order.pk)
        elif elder_error:
            form.add_error("elder", elder_error)
    context = {
        "form": form,
        "elder": elder,
        # Shown beside the picker when the form is not bound (the elder came from a link).
        "elder_error": elder_error if not form.is_bound else "",
        "search": search,
        "matches": matches,
        "search_error": search_error,
        "may_see_numbers": user.has_perm(Perm.PII_VIEW),
    }
    return render(request, "orders/order_form.html", context, status=status)


# --- the order page -------------------------------------------------------------------------------
def _history(order: Order) -> list[dict[str, Any]]:
    labels = dict(OrderStatus.choices)
    return [
        {
            "event": event,
            "action": STEPS[event.action].label if event.action in STEPS else event.action,
            "actor": actor_label(event),
            "from": labels.get(event.from_status, ""),
            "to": labels.get(event.to_status, ""),
        }
        for event in selectors.order_history(order)
    ]


def _holds_order(user: Any, order: Order) -> bool:
    """The user is an administrator of the provider holding the order."""
    if not user.has_perm(Perm.ORDERS_ACCEPT) or order.provider is None:
        return False
    return user.is_superuser or user.organisation_id == order.provider.organisation_id


def _serving(order: Order) -> list[Any]:
    return list(provider_selectors.providers_serving(order.region_id, order.item.code))


def _workers(user: Any, order: Order) -> list[Any]:
    if order.provider is None:
        return []
    return list(
        provider_selectors.workers_visible(user)
        .filter(organisation_id=order.provider.organisation_id, status=WorkerStatus.ACTIVE)
        .order_by("name", "id")
    )


def _detail(
    request: Any,
    order: Order,
    *,
    failed: str = "",
    error: DomainError | None = None,
    fields: tuple[str, ...] = (),
    status: int = 200,
):
    """The order page; after a refused action, that action's form shows the error beside its field and
    keeps what was typed."""
    user = request.user
    state = order.status
    may_create = user.has_perm(Perm.ORDERS_CREATE)
    may_dispatch = user.has_perm(Perm.ORDERS_DISPATCH)
    holds = _holds_order(user, order)
    visit = visit_of(order)
    follow_up = getattr(visit, "follow_up", None) if visit is not None else None
    can = {
        "dispatch": may_dispatch and state in STEPS["dispatch"].sources,
        "redispatch": may_dispatch and state in STEPS["redispatch"].sources,
        "cancel": (may_create or may_dispatch) and state in STEPS["cancel"].sources,
        "accept": holds and state == OrderStatus.DISPATCHED,
        "assign": holds and state in STEPS["assign"].sources,
        "confirm": may_create and state == OrderStatus.CHECKED_OUT,
        "rate": may_create and state == OrderStatus.CONFIRMED,
        "follow_up": user.has_perm(Perm.VISITS_CARE)
        and follow_up is not None
        and follow_up.outcome == FollowUpOutcome.PENDING,
    }
    errors: dict[str, dict[str, str]] = {}
    if failed and error is not None:
        field = error.field if error.field in fields else "form"
        errors[failed] = {field: error.message}
    values = request.POST if failed else {}
    family_link = ""
    if may_create and state in (OrderStatus.CHECKED_OUT, OrderStatus.CONFIRMED):
        family_link = request.build_absolute_uri(
            reverse("orders:family", args=[services.family_token(order)])
        )
    geofence = policy.value(policies.GEOFENCE_M)
    context = {
        "order": order,
        "elder": order.elder,
        "visit": visit,
        "photos": list(visit.photos.all()) if visit is not None else [],
        "follow_up": follow_up,
        "offers": selectors.order_offers(order),
        "history": _history(order),
        "can": can,
        "any_action": any(can.values()),
        "errors": errors,
        # An action whose form is gone in the order's present state: its error goes above the actions.
        "lost_error": error.message if failed and error is not None and not can.get(failed) else "",
        "failed": failed,
        "values": values,
        "providers": _serving(order) if can["dispatch"] or can["redispatch"] else [],
        "workers": _workers(user, order) if can["assign"] else [],
        "follow_up_outcomes": [c for c in FollowUpOutcome.choices if c[0] != FollowUpOutcome.PENDING],
        # The code the elder reads out at the end of the visit: staff only, never the provider's side.
        "show_code": (may_create or may_dispatch) and state in OPEN_STATUSES,
        "family_link": family_link,
        "geofence": geofence,
        "far_in": visit is not None
        and visit.check_in_distance_m is not None
        and visit.check_in_distance_m > geofence,
        "far_out": visit is not None
        and visit.check_out_distance_m is not None
        and visit.check_out_distance_m > geofence,
        "may_see_elder": user.has_perm(Perm.ELDERS_VIEW),
        "may_see_numbers": user.has_perm(Perm.PII_VIEW),
        "pending_offer": OfferOutcome.PENDING,
        "now": timezone.now(),
    }
    return render(request, "orders/order_detail.html", context, status=status)


@login_required
def order_detail(request, order_id: int):
    order = selectors.order_get(request.user, order_id)
    if is_care_worker_only(request.user):
        return redirect("orders:worker_visit", order_id=order.pk)
    return _detail(request, order)


def _act(
    request: Any,
    order_id: int,
    *,
    action: str,
    fields: tuple[str, ...],
    run: Callable[[Order], Any],
    done: Callable[[Any], str],
):
    """Run one action's service on an order in scope. Success: a message, back to where the form was.
    A refusal: its own page. Anything else: the order page again with the error beside the field (or,
    from the board or the queue, a message there)."""
    order = selectors.order_get(request.user, order_id)
    back = next_url(request)
    try:
        outcome = run(order)
    except DomainError as error:
        reraise_refusal(error)
        if back:
            messages.error(
                request,
                _("No.%(pk)s 未能%(label)s：%(message)s")
                % {
                    "pk": order.pk,
                    "label": STEPS[action].label if action in STEPS else action,
                    "message": error.message,
                },
            )
            return redirect(back)
        fresh = selectors.order_get(request.user, order_id)
        return _detail(request, fresh, failed=action, error=error, fields=fields, status=error.status)
    messages.success(request, done(outcome))
    return redirect(back or reverse("orders:detail", args=[order.pk]))


def _chosen_provider(order: Order, raw: str, *, required: bool) -> Any:
    raw = (raw or "").strip()
    if not raw:
        if required:
            raise InvalidInput("请选择服务机构", field="provider")
        return None
    found = (
        provider_selectors.providers_serving(order.region_id, order.item.code).filter(pk=raw).first()
        if raw.isdigit()
        else None
    )
    if found is None:
        raise InvalidInput("所选机构未覆盖该社区、未提供该服务项目或已暂停合作", field="provider")
    return found


def _dispatched_to(order: Order) -> str:
    if order.status == OrderStatus.DISPATCHED and order.provider is not None:
        return _("No.%(pk)s 已派给 %(provider)s，等待接单") % {
            "pk": order.pk,
            "provider": order.provider.name,
        }
    return _("No.%(pk)s 暂无可接单的服务机构，请人工派单") % {"pk": order.pk}


@login_required
@require_POST
def order_dispatch(request, order_id: int):
    """派单 by hand to a provider that serves the community and offers the item."""
    return _act(
        request,
        order_id,
        action="dispatch",
        fields=("provider", "note"),
        run=lambda order: services.order_dispatch_manual(
            actor=request.user,
            order=order,
            provider=_chosen_provider(order, request.POST.get("provider", ""), required=True),
            note=request.POST.get("note", ""),
        ),
        done=_dispatched_to,
    )


@login_required
@require_POST
def order_redispatch(request, order_id: int):
    """改派: to a chosen provider, or to the best one not yet tried."""
    return _act(
        request,
        order_id,
        action="redispatch",
        fields=("provider", "reason"),
        run=lambda order: services.order_redispatch(
            actor=request.user,
            order=order,
            reason=request.POST.get("reason", ""),
            provider=_chosen_provider(order, request.POST.get("provider", ""), required=False),
        ),
        done=_dispatched_to,
    )


@login_required
@require_POST
def order_cancel(request, order_id: int):
    return _act(
        request,
        order_id,
        action="cancel",
        fields=("reason",),
        run=lambda order: services.order_cancel(
            actor=request.user, order=order, reason=request.POST.get("reason", "")
        ),
        done=lambda order: _("服务工单 No.%(pk)s 已取消") % {"pk": order.pk},
    )


@login_required
@require_POST
def order_accept(request, order_id: int):
    return _act(
        request,
        order_id,
        action="accept",
        fields=(),
        run=lambda order: services.order_accept(actor=request.user, order=order),
        done=lambda order: (
            _("已接单 No.%(pk)s（%(item)s，%(price)s 元），请分配护理员")
            % {"pk": order.pk, "item": order.item.name, "price": order.price}
        ),
    )


@login_required
@require_POST
def order_reject(request, order_id: int):
    return _act(
        request,
        order_id,
        action="reject",
        fields=("reason",),
        run=lambda order: services.order_reject(
            actor=request.user, order=order, reason=request.POST.get("reason", "")
        ),
        done=lambda order: _("已拒单 No.%(pk)s，工单已转派其他机构") % {"pk": order.pk},
    )


def _chosen_worker(request: Any, order: Order) -> Any:
    raw = request.POST.get("worker", "").strip()
    if not raw:
        raise InvalidInput("请选择护理员", field="worker")
    found = next((w for w in _workers(request.user, order) if str(w.pk) == raw), None)
    if found is None:
        raise InvalidInput("所选护理员不在本机构或不在岗", field="worker")
    return found


@login_required
@require_POST
def order_assign(request, order_id: int):
    return _act(
        request,
        order_id,
        action="assign",
        fields=("worker",),
        run=lambda order: services.order_assign(
            actor=request.user, order=order, worker=_chosen_worker(request, order)
        ),
        done=lambda order: (
            _("No.%(pk)s 已分配给护理员 %(worker)s") % {"pk": order.pk, "worker": order.worker.name}
        ),
    )


@login_required
@require_POST
def order_confirm(request, order_id: int):
    """The operator confirms the visit on the phone with the elder."""
    return _act(
        request,
        order_id,
        action="confirm",
        fields=("note",),
        run=lambda order: services.visit_confirm_by_operator(
            actor=request.user, order=order, note=request.POST.get("note", "")
        ),
        done=lambda visit: (
            _("已电话确认服务：服务账户支付 %(account)s 元，个人自付 %(own)s 元")
            % {"account": visit.account_paid, "own": visit.self_paid}
        ),
    )


@login_required
@require_POST
def order_rate(request, order_id: int):
    """The elder's rating, given on the phone."""
    return _act(
        request,
        order_id,
        action="rate",
        fields=("score", "comment"),
        run=lambda order: services.visit_rate(
            actor=request.user,
            order=order,
            score=request.POST.get("score", ""),
            comment=request.POST.get("comment", ""),
        ),
        done=lambda visit: _("已代老人评价：%(score)s 星") % {"score": visit.rating},
    )


@login_required
@require_POST
def order_follow_up(request, order_id: int):
    """The result of the follow-up call (回访) on a sampled visit."""
    return _act(
        request,
        order_id,
        action="follow_up",
        fields=("outcome", "note"),
        run=lambda order: services.follow_up_record(
            actor=request.user,
            order=order,
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
        ),
        done=lambda follow_up: (
            _("回访结果已记录：%(outcome)s") % {"outcome": follow_up.get_outcome_display()}
        ),
    )


@login_required
def visit_photo(request, order_id: int, photo_id: int):
    """A photo of a visit, for whoever may see the order (photos are never public files)."""
    order = selectors.order_get(request.user, order_id)
    visit = visit_of(order)
    photo = visit.photos.filter(pk=photo_id).first() if visit is not None else None
    if photo is None:
        raise NotFound("未找到该服务照片")
    content_type = mimetypes.guess_type(photo.image.name)[0] or "application/octet-stream"
    response = FileResponse(photo.image.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- the dispatch board ---------------------------------------------------------------------------
@login_required
def board(request):
    """What needs a dispatcher's hand now; the columns refresh every 30 seconds (htmx)."""
    user = request.user
    require_perm(user, Perm.ORDERS_DISPATCH)
    region = request.GET.get("region", "").strip()
    error = None
    try:
        found = selectors.dispatch_board(user, region=region)
    except InvalidInput as problem:
        error, region = problem, ""
        found = selectors.dispatch_board(user)
    # The providers that may take each unplaced order, looked up once per community and item.
    serving: dict[tuple[str, str], list[Any]] = {}
    unplaced = []
    for order in found.unplaced:
        key = (order.region_id, order.item.code)
        if key not in serving:
            serving[key] = list(provider_selectors.providers_serving(*key)[:20])
        unplaced.append((order, serving[key]))
    now = timezone.now()
    context = {
        "board": found,
        "unplaced": unplaced,
        "waiting": [(o, offer, offer.deadline <= now) for o, offer in found.waiting],
        "counts": [
            (value, label, found.counts.get(value, 0))
            for value, label in OrderStatus.choices
            if found.counts.get(value)
        ],
        "error": error,
        "region": region,
        "region_levels": region_choices(user, region) if user.region_id or user.is_superuser else [],
        "now": now,
        "here": reverse("orders:board") + (f"?{urlencode({'region': region})}" if region else ""),
    }
    template = "orders/_board.html" if request.htmx and not request.htmx.boosted else "orders/board.html"
    return render(request, template, context)


# --- the provider's queue -------------------------------------------------------------------------
@login_required
def queue(request):
    """A provider's work: dispatched orders to accept or refuse, accepted ones to give a worker, and the
    ones in hand."""
    user = request.user
    require_perm(user, Perm.ORDERS_ACCEPT)
    found = selectors.provider_queue(user)
    workers = list(
        provider_selectors.workers_visible(user)
        .filter(organisation_id=user.organisation_id, status=WorkerStatus.ACTIVE)
        .order_by("name", "id")
    )
    now = timezone.now()
    context = {
        "queue": found,
        "to_accept": [(o, offer, offer.deadline <= now) for o, offer in found.to_accept],
        "workers": workers,
        "now": now,
    }
    return render(request, "orders/queue.html", context)


# --- the elder's tab ------------------------------------------------------------------------------
def elder_tab(request: Any, elder: Any) -> str:
    """The 服务工单 tab on the elder's page: the latest orders the user may see, and a link to take a
    new one for those who may."""
    user = request.user
    context = {
        "elder": elder,
        "readable": selectors.may_read(user),
        "orders": selectors.elder_orders(user, elder.pk) if selectors.may_read(user) else [],
        "may_create": user.has_perm(Perm.ORDERS_CREATE),
    }
    return render_to_string("orders/_elder_tab.html", context, request=request)
