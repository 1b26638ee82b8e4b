"""Fixtures of the orders tests: providers with positions around the cast's home community, a care worker
signed in as the cast's care_worker, an elder at a known home, and `order_at(status)` that walks an order
through the real services to any state."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from yanglao.benefits.models import LedgerEntry, ServiceAccount
from yanglao.core.testing import HOME_COMMUNITY, HOME_DISTRICT, HOME_STREET, OTHER_DISTRICT
from yanglao.orders import geo, services
from yanglao.orders.enums import OrderStatus as S
from yanglao.providers import services as provider_services
from yanglao.providers.models import CatalogueItem
from yanglao.registry.tests.conftest import make_id

# The elder's home, in 和平区 (a real street corner's coordinates, rounded).
HOME = (39.1180, 117.2000)
NEAR = (39.1190, 117.2010)  # ~140 m from HOME
FAR = (39.1400, 117.2300)  # ~3.5 km from HOME


@pytest.fixture(autouse=True)
def fresh_index():
    """Each test starts with an index built from its own rows."""
    geo.invalidate()
    yield
    geo.invalidate()


@pytest.fixture
def item(db):
    if not CatalogueItem.objects.filter(code="bathing").exists():
        # A transactional test flushed the catalogue its migration seeded: seed it again.
        import importlib

        from django.apps import apps

        importlib.import_module("yanglao.providers.migrations.0002_catalogue_items").seed(apps, None)
    return CatalogueItem.objects.get(code="bathing")


def bathing_provider(organisation, *, price: str, **details):
    """A provider of `organisation` with a daily capacity of 10 offering 助浴 at `price`; the dispatch
    index is dropped so that the next query sees it."""
    found = provider_services.provider_attach(
        actor="tests", organisation=organisation, daily_capacity=10, **details
    )
    provider_services.offer_set(actor="tests", provider=found, item="bathing", price=price)
    geo.invalidate()
    return found


@pytest.fixture
def provider(cast, item):
    """The cast's 和平区 provider: serves 劝业场街道, ~1 km from HOME, offers 助浴 at 85, capacity 10."""
    return bathing_provider(
        cast.organisations["provider"],
        price="85",
        legal_form="social_org",
        legal_representative="周静",
        contact_phone="13812345678",
        service_areas=[HOME_STREET],
        latitude=HOME[0] + 0.009,
        longitude=HOME[1],
    )


@pytest.fixture
def second_provider(cast, item):
    """Another provider serving all of 和平区, ~2 km from HOME, offering 助浴 at 80."""
    from yanglao.accounts.models import Organisation
    from yanglao.core.testing import make_credit_code

    organisation = Organisation.objects.create(
        name="和平区第二服务中心", kind="provider", region_id=HOME_DISTRICT, credit_code=make_credit_code(77)
    )
    return bathing_provider(
        organisation,
        price="80",
        legal_form="enterprise",
        legal_representative="吴平",
        service_areas=[HOME_DISTRICT],
        latitude=HOME[0] + 0.018,
        longitude=HOME[1],
    )


@pytest.fixture
def other_provider(cast, item):
    """The cast's 河东区 provider: serves only 河东区 (never a candidate for the home community)."""
    return bathing_provider(
        cast.organisations["other_provider"],
        price="70",
        legal_form="enterprise",
        legal_representative="赵强",
        service_areas=[OTHER_DISTRICT],
        latitude=HOME[0],
        longitude=HOME[1] + 0.001,
    )


@pytest.fixture
def worker(cast, provider):
    """The cast's care_worker user's care-worker record, in the provider's organisation."""
    return provider_services.worker_register(
        actor="tests",
        organisation=cast.organisations["provider"],
        name="刘秀英",
        id_number=make_id("120101"),
        username="care_worker",
    )


@pytest.fixture
def elder(make_elder):
    return make_elder(HOME_COMMUNITY, latitude=HOME[0], longitude=HOME[1], address="和平区劝业场街1号")


def window(hours_from_now: float = 1, length_hours: float = 2):
    start = timezone.now() + timedelta(hours=hours_from_now)
    return start, start + timedelta(hours=length_hours)


def credit(elder, amount: str) -> ServiceAccount:
    """Put money on the elder's service account, as an approved monthly credit would."""
    account, _ = ServiceAccount.objects.get_or_create(elder_id=elder.pk)
    account.balance += Decimal(amount)
    account.save()
    LedgerEntry.objects.create(
        account=account, amount=Decimal(amount), note="测试入账", created_at=timezone.now()
    )
    return account


@pytest.fixture
def order_at(cast, elder, item, provider, worker):
    """order_at(status, **create_kwargs): a phone order walked through the services up to `status`."""

    def walk(status: str, *, at=HOME, minutes: float = 60, **kwargs):
        start, end = window()
        kwargs.setdefault("window_start", start)
        kwargs.setdefault("window_end", end)
        order = services.order_create(
            actor=cast.operator, elder=kwargs.pop("elder", elder), item=item, channel="phone", **kwargs
        )
        path = [S.DISPATCHED, S.ACCEPTED, S.ASSIGNED, S.CHECKED_IN, S.CHECKED_OUT, S.CONFIRMED, S.RATED]
        if status == S.CREATED:
            return order
        for step in path:
            if step == S.ACCEPTED:
                order = services.order_accept(actor=cast.provider_admin, order=order)
            elif step == S.ASSIGNED:
                order = services.order_assign(actor=cast.provider_admin, order=order, worker=worker)
            elif step == S.CHECKED_IN:
                services.visit_check_in(actor=cast.care_worker, order=order, latitude=at[0], longitude=at[1])
                order.refresh_from_db()
                if minutes:
                    # The visit lasted `minutes`: move its check-in back rather than wait.
                    order.visit.check_in_at -= timedelta(minutes=minutes)
                    order.visit.save(update_fields=["check_in_at"])
            elif step == S.CHECKED_OUT:
                services.visit_check_out(
                    actor=cast.care_worker, order=order, latitude=at[0], longitude=at[1], items_done=["洗浴"]
                )
            elif step == S.CONFIRMED:
                services.visit_confirm_with_code(actor=cast.care_worker, order=order, code=order.confirm_code)
            elif step == S.RATED:
                services.visit_rate(actor=cast.operator, order=order, score=5, comment="很好")
            order.refresh_from_db()
            if step == status:
                return order
        raise AssertionError(f"unknown status {status}")

    return walk
