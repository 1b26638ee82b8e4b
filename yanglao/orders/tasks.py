"""The orders app's periodic jobs: skip providers that let the acceptance deadline pass, expire orders
nobody served, and the nightly fraud pass over recent visits."""

from __future__ import annotations

from datetime import time, timedelta

from django_tasks import task

from yanglao.core.scheduling import periodic
from yanglao.orders import fraud, services


@periodic("orders.offer_deadlines", every=timedelta(minutes=1))
@task()
def offer_deadlines() -> int:
    """Every minute: an order whose provider did not accept in time goes to the next provider."""
    return services.offers_time_out()


@periodic("orders.expiry", every=timedelta(minutes=15))
@task()
def expire_orders() -> int:
    """Every quarter hour: orders still not served long after their window are expired."""
    return services.orders_expire()


@periodic("orders.fraud_nightly", at=time(3, 0))
@task()
def fraud_nightly() -> int:
    """Nightly: the fraud checks again over recent visits, with what was learned since (deaths reported
    late, photos uploaded to later visits)."""
    return fraud.check_all()
