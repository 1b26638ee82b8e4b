"""All writes of the orders app (DESIGN.md rule 1), one module per stage of an order's life."""

from yanglao.orders.services._common import STEPS
from yanglao.orders.services.dispatch import (
    offers_time_out,
    order_accept,
    order_dispatch_auto,
    order_dispatch_manual,
    order_redispatch,
    order_reject,
)
from yanglao.orders.services.orders import order_cancel, order_create, orders_expire
from yanglao.orders.services.visits import (
    family_token,
    follow_up_record,
    order_assign,
    order_from_family_token,
    order_take,
    visit_add_photo,
    visit_check_in,
    visit_check_out,
    visit_confirm_by_family,
    visit_confirm_by_operator,
    visit_confirm_with_code,
    visit_rate,
    visit_rate_by_family,
    worker_of,
)

__all__ = [
    "STEPS",
    "family_token",
    "follow_up_record",
    "offers_time_out",
    "order_accept",
    "order_assign",
    "order_cancel",
    "order_create",
    "order_dispatch_auto",
    "order_dispatch_manual",
    "order_from_family_token",
    "order_redispatch",
    "order_reject",
    "order_take",
    "orders_expire",
    "visit_add_photo",
    "visit_check_in",
    "visit_check_out",
    "visit_confirm_by_family",
    "visit_confirm_by_operator",
    "visit_confirm_with_code",
    "visit_rate",
    "visit_rate_by_family",
    "worker_of",
]
