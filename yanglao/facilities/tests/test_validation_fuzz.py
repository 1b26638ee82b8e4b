"""Whatever a client sends, facility_create answers with a facility or a typed error naming a field:
never a crash, never a row that breaks the database's own constraints."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yanglao.core.errors import DomainError
from yanglao.facilities import services
from yanglao.facilities.models import Facility
from yanglao.facilities.validation import EDITABLE

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        ["day_care", "institution", "canteen", "120101001001", "120101", "public_private", "三级"]
    ),
    st.lists(st.sampled_from(["meals", "day_care", "助餐", "flying", ""]), max_size=4),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=st.dictionaries(st.sampled_from(EDITABLE), values, max_size=10))
def test_any_input_gives_a_facility_or_an_error_naming_a_field(cast, facts):
    try:
        facility = services.facility_create(actor=cast.city_admin, **facts)
    except DomainError as error:
        assert error.status in (400, 403, 404, 409, 422)
        assert error.field or error.details
    else:
        facility.full_clean(validate_unique=False)
        assert Facility.objects.filter(pk=facility.pk).exists()


def test_a_nul_character_is_dropped_not_sent_to_the_database(cast):
    # Found by the property above on PostgreSQL, which refuses NUL in text: kind "\x00" is no kind at all.
    with pytest.raises(DomainError) as raised:
        services.facility_create(actor=cast.city_admin, kind="\x00")
    assert raised.value.field == "kind"
