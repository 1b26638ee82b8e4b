"""A provider's rating is the running mean of the scores the orders app records."""

from decimal import Decimal

import pytest

from yanglao.core.errors import InvalidInput, PermissionDenied
from yanglao.providers import services


def test_the_rating_is_the_mean_of_all_scores(cast, provider):
    assert provider.rating is None and provider.rating_count == 0
    for score in (5, 4, 3, 5):
        services.provider_record_rating(actor="orders", provider=provider, score=score)
    provider.refresh_from_db()
    assert provider.rating_count == 4
    assert provider.rating == Decimal("4.2500")


def test_a_running_mean_does_not_truncate_on_integer_scores(cast, provider):
    services.provider_record_rating(actor="orders", provider=provider, score=5)
    services.provider_record_rating(actor="orders", provider=provider, score=4)
    provider.refresh_from_db()
    assert provider.rating == Decimal("4.5000")
    services.provider_record_rating(actor="orders", provider=provider, score="4.5")
    provider.refresh_from_db()
    assert provider.rating == Decimal("4.5000") and provider.rating_count == 3


def test_two_records_from_stale_objects_both_count(cast, provider):
    from yanglao.providers.models import Provider

    first, second = Provider.objects.get(pk=provider.pk), Provider.objects.get(pk=provider.pk)
    services.provider_record_rating(actor="orders", provider=first, score=5)
    services.provider_record_rating(
        actor="orders", provider=second, score=1
    )  # computed in SQL, not from `second`
    provider.refresh_from_db()
    assert (provider.rating, provider.rating_count) == (Decimal("3.0000"), 2)


@pytest.mark.parametrize("score", [0, 6, "five", None, "4.55"])
def test_a_score_outside_1_to_5_is_refused(cast, provider, score):
    with pytest.raises(InvalidInput) as caught:
        services.provider_record_rating(actor="orders", provider=provider, score=score)
    assert caught.value.field == "score"


def test_a_person_needs_providers_manage_to_record_a_rating(cast, provider):
    with pytest.raises(PermissionDenied):
        services.provider_record_rating(actor=cast.district_staff, provider=provider, score=5)
