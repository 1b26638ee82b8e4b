"""The family's page (DOMAIN.md §13: large type, high contrast, few steps): reached by the signed link
sent to their phone, without signing in. It confirms the visit in the elder's name and takes a 1–5 star
rating. It shows the item, the worker and the times; never ID or phone numbers."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from yanglao.core.errors import DomainError
from yanglao.orders import services
from yanglao.orders.enums import OrderStatus
from yanglao.orders.views import visit_of

STARS = [(5, "非常满意"), (4, "满意"), (3, "一般"), (2, "不满意"), (1, "非常不满意")]


def _page(request, token: str, *, errors: dict[str, str] | None = None, status: int = 200):
    try:
        order = services.order_from_family_token(token)
    except DomainError as error:
        return render(request, "orders/family.html", {"invalid": error.message}, status=error.status)
    context = {
        "order": order,
        "visit": visit_of(order),
        "token": token,
        "may_confirm": order.status == OrderStatus.CHECKED_OUT,
        "may_rate": order.status == OrderStatus.CONFIRMED,
        "done": order.status in (OrderStatus.RATED, OrderStatus.SETTLED),
        "stars": STARS,
        "errors": errors or {},
        "values": request.POST if errors else {},
    }
    return render(request, "orders/family.html", context, status=status)


@never_cache
def family(request, token: str):
    """GET: the visit and the next step. POST action=confirm or action=rate (score, comment)."""
    if request.method != "POST":
        return _page(request, token)
    action = request.POST.get("action", "")
    try:
        if action == "confirm":
            services.visit_confirm_by_family(token=token)
            messages.success(request, _("已确认服务，感谢您的配合。请为本次服务评分。"))
        elif action == "rate":
            services.visit_rate_by_family(
                token=token, score=request.POST.get("score", ""), comment=request.POST.get("comment", "")
            )
            messages.success(request, _("感谢您的评价！"))
        else:
            return _page(request, token, errors={"form": _("请点击页面上的按钮操作")}, status=400)
    except DomainError as error:
        field = error.field if error.field in ("score", "comment") else "form"
        return _page(request, token, errors={field: error.message}, status=error.status)
    return redirect("orders:family", token=token)
