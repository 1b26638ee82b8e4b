"""What a provider offers, at its own price: one offer per item, upserted, withdrawn but kept."""

from decimal import Decimal

import pytest

from yanglao.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yanglao.core.models import AuditLog
from yanglao.providers import services
from yanglao.providers.models import CatalogueItem, ProviderOffer


def test_setting_an_offer_twice_changes_its_price_and_keeps_one_row(cast, provider):
    services.offer_set(actor=cast.city_admin, provider=provider, item="cleaning", price="38.5")
    services.offer_set(actor=cast.city_admin, provider=provider, item="cleaning", price=42)
    offer = ProviderOffer.objects.get(provider=provider, item__code="cleaning")
    assert (offer.price, offer.is_active) == (Decimal("42.00"), True)
    log = AuditLog.objects.filter(action="provider.offer.set").order_by("-id").first()
    assert log.changes["before"]["price"] == "38.50" and log.changes["after"]["price"] == "42.00"


@pytest.mark.parametrize("price", [0, "-5", "abc", "12.345", "200000"])
def test_a_price_must_be_above_zero_and_sensible(cast, provider, price):
    with pytest.raises(InvalidInput) as caught:
        services.offer_set(actor=cast.city_admin, provider=provider, item="cleaning", price=price)
    assert caught.value.field == "price"


def test_an_unknown_or_inactive_item_is_refused(cast, provider):
    with pytest.raises(InvalidInput) as caught:
        services.offer_set(actor=cast.city_admin, provider=provider, item="massage", price=10)
    assert caught.value.field == "item"
    CatalogueItem.objects.filter(code="repair").update(is_active=False)
    with pytest.raises(InvalidInput) as caught:
        services.offer_set(actor=cast.city_admin, provider=provider, item="repair", price=10)
    assert caught.value.field == "item"


def test_withdrawing_keeps_the_offer_inactive_and_a_second_withdrawal_conflicts(cast, provider):
    offer = services.offer_withdraw(actor=cast.city_admin, provider=provider, item="bathing")
    assert offer.is_active is False and ProviderOffer.objects.filter(pk=offer.pk).exists()
    with pytest.raises(Conflict):
        services.offer_withdraw(actor=cast.city_admin, provider=provider, item="bathing")
    with pytest.raises(NotFound) as caught:
        services.offer_withdraw(actor=cast.city_admin, provider=provider, item="meals")
    assert caught.value.field == "item"
    services.offer_set(actor=cast.city_admin, provider=provider, item="bathing", price=90)
    assert ProviderOffer.objects.get(pk=offer.pk).is_active


def test_a_terminated_provider_cannot_offer(cast, provider):
    services.provider_set_status(
        actor=cast.city_admin, provider=provider, status="terminated", reason="合同到期"
    )
    with pytest.raises(Conflict):
        services.offer_set(actor=cast.city_admin, provider=provider, item="cleaning", price=40)


def test_provider_admins_do_not_set_their_own_prices(cast, provider):
    with pytest.raises(PermissionDenied):
        services.offer_set(actor=cast.provider_admin, provider=provider, item="cleaning", price=40)
