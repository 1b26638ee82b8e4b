"""Pages of service orders under /orders/. Settlement, fraud flags, reconciliation and follow-up lists are
added by yanglao/orders/views/settlement.py when that module exists (see extra_urlpatterns)."""

from __future__ import annotations

import importlib

from django.urls import path

from yanglao.orders.views import family, orders, worker

app_name = "orders"

urlpatterns = [
    # staff
    path("", orders.order_list, name="list"),
    path("new/", orders.order_create, name="create"),
    path("board/", orders.board, name="board"),
    path("queue/", orders.queue, name="queue"),
    path("<int:order_id>/", orders.order_detail, name="detail"),
    path("<int:order_id>/dispatch/", orders.order_dispatch, name="dispatch"),
    path("<int:order_id>/redispatch/", orders.order_redispatch, name="redispatch"),
    path("<int:order_id>/cancel/", orders.order_cancel, name="cancel"),
    path("<int:order_id>/accept/", orders.order_accept, name="accept"),
    path("<int:order_id>/reject/", orders.order_reject, name="reject"),
    path("<int:order_id>/assign/", orders.order_assign, name="assign"),
    path("<int:order_id>/confirm/", orders.order_confirm, name="confirm"),
    path("<int:order_id>/rate/", orders.order_rate, name="rate"),
    path("<int:order_id>/follow-up/", orders.order_follow_up, name="follow_up_record"),
    path("<int:order_id>/photos/<int:photo_id>/", orders.visit_photo, name="photo"),
    # care workers (phone pages)
    path("worker/", worker.worker_day, name="worker_day"),
    path("worker/<int:order_id>/", worker.worker_visit, name="worker_visit"),
    path("worker/<int:order_id>/take/", worker.worker_take, name="worker_take"),
    path("worker/<int:order_id>/check-in/", worker.worker_check_in, name="worker_check_in"),
    path("worker/<int:order_id>/check-out/", worker.worker_check_out, name="worker_check_out"),
    path("worker/<int:order_id>/photos/", worker.worker_photos, name="worker_photos"),
    path("worker/<int:order_id>/confirm/", worker.worker_confirm, name="worker_confirm"),
    # the family's signed link (no sign-in)
    path("family/<str:token>/", family.family, name="family"),
]


def extra_urlpatterns() -> list:
    """The patterns of yanglao/orders/views/settlement.py (settlement, flags, reconciliation, follow-ups),
    written separately: its `urlpatterns` when the module exists, else none."""
    try:
        module = importlib.import_module("yanglao.orders.views.settlement")
    except ModuleNotFoundError as error:
        if error.name != "yanglao.orders.views.settlement":
            raise  # the module exists but something it imports does not: say so
        return []
    return list(getattr(module, "urlpatterns", []))


# --- settlement, fraud flags, reconciliation, follow-ups: added by views/settlement.py -------------
urlpatterns += extra_urlpatterns()
