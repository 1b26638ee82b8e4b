"""The care worker's phone pages (DOMAIN.md §0: check in / out at homes, service records): today's visits
in order, orders of their organisation to take (抢单), and one visit's page with check-in by the phone's
position, check-out with the tasks done, photos, and the code the elder reads out.

A care worker sees the elder's name, address and the item, never ID or phone numbers, and never the
order's confirmation code: it is the elder's proof that the service happened."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yanglao.accounts.scope import require_perm
from yanglao.core import policy
from yanglao.core.errors import DomainError, InvalidInput
from yanglao.core.permissions import Perm
from yanglao.orders import policies, selectors, services
from yanglao.orders.enums import OrderStatus
from yanglao.orders.models import Order
from yanglao.orders.services.visits import PHOTOS_PER_VISIT
from yanglao.orders.views import reraise_refusal, task_list, visit_of

NEXT_STEP = {
    OrderStatus.ASSIGNED: gettext_lazy("到达后签到"),
    OrderStatus.CHECKED_IN: gettext_lazy("服务完成后签退"),
    OrderStatus.CHECKED_OUT: gettext_lazy("请老人报确认码"),
}


def geo_uri(elder: Any) -> str:
    """A geo: link the phone's map app opens at the elder's home (no web map, no network needed here)."""
    if elder.latitude is None or elder.longitude is None:
        return ""
    point = f"{elder.latitude:.6f},{elder.longitude:.6f}"
    return f"geo:{point}?q={point}({quote(elder.name)})"


def _require_worker(user: Any) -> None:
    require_perm(user, Perm.VISITS_PERFORM)


@login_required
def worker_day(request):
    """Today's visits, unfinished earlier ones first, and the orders the worker may take."""
    _require_worker(request.user)
    day = selectors.worker_day(request.user)
    context = {
        "visits": [
            {"order": order, "geo": geo_uri(order.elder), "next": NEXT_STEP.get(order.status, "")}
            for order in day.visits
        ],
        "takeable": day.takeable,
        "done_today": day.done_today,
        "today": f"{timezone.localdate():%Y-%m-%d}",
    }
    return render(request, "orders/worker_day.html", context)


def _visit_page(request: Any, order: Order, *, errors: dict[str, str] | None = None, status: int = 200):
    visit = visit_of(order)
    geofence = policy.value(policies.GEOFENCE_M)
    distance = visit.check_in_distance_m if visit is not None else None
    mine = order.worker is not None and order.worker.user_id == request.user.pk
    context = {
        "order": order,
        "elder": order.elder,
        "visit": visit,
        "mine": mine,
        "takeable": not mine and order.status == OrderStatus.ACCEPTED and order.worker_id is None,
        "geo": geo_uri(order.elder),
        "tasks": task_list(order.item),
        "geofence": geofence,
        "distance": distance,
        "far": distance is not None and distance > geofence,
        "photos": list(visit.photos.all()) if visit is not None else [],
        "photo_limit": PHOTOS_PER_VISIT,
        "errors": errors or {},
        "values": request.POST if errors else {},
        "checked": request.POST.getlist("items_done") if errors else [],
        "next_step": NEXT_STEP.get(order.status, "") if mine else "",
    }
    return render(request, "orders/worker_visit.html", context, status=status)


@login_required
def worker_visit(request, order_id: int):
    _require_worker(request.user)
    return _visit_page(request, selectors.order_get(request.user, order_id))


def _run(request: Any, order_id: int, form: str, run: Any, done: Any):
    """One step of the visit: success goes back to the visit page with a message; a refusal is its own
    page; anything else shows the visit page with the error beside the form's field."""
    _require_worker(request.user)
    order = selectors.order_get(request.user, order_id)
    try:
        outcome = run(order)
    except DomainError as error:
        reraise_refusal(error)
        fresh = selectors.order_get(request.user, order_id)
        return _visit_page(request, fresh, errors={form: error.message}, status=error.status)
    for level, text in done(outcome):
        messages.add_message(request, level, text)
    return redirect("orders:worker_visit", order_id=order_id)


@login_required
@require_POST
def worker_take(request, order_id: int):
    """抢单: the first worker of the provider to tap gets the order."""
    _require_worker(request.user)
    order = selectors.order_get(request.user, order_id)
    try:
        services.order_take(actor=request.user, order=order)
    except DomainError as error:
        reraise_refusal(error)
        messages.error(request, error.message)
        return redirect("orders:worker_day")
    messages.success(request, _("接单成功，请按时上门"))
    return redirect("orders:worker_visit", order_id=order.pk)


def _distance_messages(visit: Any) -> list[tuple[int, str]]:
    distance = visit.check_in_distance_m
    if distance is None:
        return [(messages.SUCCESS, _("已签到（老人住址未定位，无法核对距离）"))]
    geofence = policy.value(policies.GEOFENCE_M)
    said = [(messages.SUCCESS, _("已签到，距老人住址约 %(m)s 米") % {"m": round(distance)})]
    if distance > geofence:
        said.append(
            (
                messages.WARNING,
                _("签到位置超出允许范围（%(limit)s 米），本次服务将被标记核查") % {"limit": geofence},
            )
        )
    return said


@login_required
@require_POST
def worker_check_in(request, order_id: int):
    return _run(
        request,
        order_id,
        "check_in",
        lambda order: services.visit_check_in(
            actor=request.user,
            order=order,
            latitude=request.POST.get("latitude"),
            longitude=request.POST.get("longitude"),
            accuracy=request.POST.get("accuracy"),
        ),
        _distance_messages,
    )


@login_required
@require_POST
def worker_check_out(request, order_id: int):
    return _run(
        request,
        order_id,
        "check_out",
        lambda order: services.visit_check_out(
            actor=request.user,
            order=order,
            latitude=request.POST.get("latitude"),
            longitude=request.POST.get("longitude"),
            items_done=request.POST.getlist("items_done"),
            record=request.POST.get("record", ""),
        ),
        lambda visit: [(messages.SUCCESS, _("已签退，请老人报出确认码完成确认"))],
    )


def _add_photos(request: Any, order: Order) -> int:
    uploads = request.FILES.getlist("photos")
    if not uploads:
        raise InvalidInput("请选择或拍摄要上传的照片", field="photo")
    saved = 0
    for upload in uploads:
        try:
            services.visit_add_photo(actor=request.user, order=order, upload=upload)
        except DomainError as error:
            if saved:
                error.message = _("已上传 %(n)s 张；“%(name)s”未上传：%(why)s") % {
                    "n": saved,
                    "name": upload.name,
                    "why": error.message,
                }
            raise
        saved += 1
    return saved


@login_required
@require_POST
def worker_photos(request, order_id: int):
    return _run(
        request,
        order_id,
        "photo",
        lambda order: _add_photos(request, order),
        lambda n: [(messages.SUCCESS, _("已上传 %(n)s 张服务照片") % {"n": n})],
    )


@login_required
@require_POST
def worker_confirm(request, order_id: int):
    """The elder reads out the code; a wrong one says how many tries are left."""
    return _run(
        request,
        order_id,
        "code",
        lambda order: services.visit_confirm_with_code(
            actor=request.user, order=order, code=request.POST.get("code", "")
        ),
        lambda visit: [(messages.SUCCESS, _("老人已确认服务，本次服务完成"))],
    )
