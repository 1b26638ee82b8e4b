"""What the orders app hooks into at start-up: the elder link for providers, navigation, the elder's tab,
the spatial index's invalidation and the demo step."""

from __future__ import annotations

from django.db.models import Q


def connect() -> None:
    from django.utils.module_loading import import_string

    from yanglao.core.demo import add_step
    from yanglao.orders.models import Order
    from yanglao.registry import selectors as registry_selectors

    # A provider (and its care workers) sees the elders whose orders it holds.
    registry_selectors.register_organisation_link(
        "orders",
        lambda organisation_id: Q(
            pk__in=Order.objects.filter(provider__organisation_id=organisation_id).values("elder_id")
        ),
    )

    from yanglao.orders import geo

    # A change to a provider, offer, service area or organisation makes the dispatch index stale.
    geo.connect_signals()
    # After the providers (41) and benefits (50) steps: orders need the demo provider, its care worker and
    # credited service accounts.
    add_step("orders.demo", 60, lambda **kw: import_string("yanglao.orders.demo.demo_orders")(**kw))

    _register_pages()

    # --- settlement, reconciliation, fraud flags, follow-up calls (views/settlement.py) ---------------
    from django.utils.translation import gettext_lazy as _

    from yanglao.core.navigation import NavItem, register
    from yanglao.core.permissions import Perm

    register(NavItem(label=_("服务结算"), url_name="orders:settlements", perm=Perm.SETTLEMENT_VIEW, order=45))
    register(
        NavItem(label=_("结算对账"), url_name="orders:reconciliation", perm=Perm.SETTLEMENT_VIEW, order=46)
    )
    # Inspectors read the flags too (flags go to oversight, DOMAIN.md §5).
    register(
        NavItem(
            label=_("服务疑点"),
            url_name="orders:flags",
            perm=(Perm.SETTLEMENT_VIEW, Perm.INSPECTIONS_PERFORM),
            order=47,
        )
    )
    register(NavItem(label=_("服务回访"), url_name="orders:follow_ups", perm=Perm.VISITS_CARE, order=48))


def _register_pages() -> None:
    """The navigation entries and the 服务工单 tab on the elder's page (replacing the registry's
    placeholder 服务记录)."""
    from django.utils.translation import gettext_lazy as _

    from yanglao.core.navigation import NavItem, register
    from yanglao.core.permissions import Perm
    from yanglao.orders.views.orders import elder_tab
    from yanglao.registry import tabs

    # The list is for those who take, dispatch or accept orders; a care worker works from 今日服务.
    register(
        NavItem(
            label=_("服务工单"),
            url_name="orders:list",
            perm=(Perm.ORDERS_CREATE, Perm.ORDERS_DISPATCH, Perm.ORDERS_ACCEPT),
            order=40,
        )
    )
    register(NavItem(label=_("派单调度"), url_name="orders:board", perm=Perm.ORDERS_DISPATCH, order=41))
    register(NavItem(label=_("接单处理"), url_name="orders:queue", perm=Perm.ORDERS_ACCEPT, order=42))
    register(NavItem(label=_("今日服务"), url_name="orders:worker_day", perm=Perm.VISITS_PERFORM, order=43))
    tabs.register(tabs.Tab(key="services", label=_("服务工单"), order=60, render=elder_tab))
