from decimal import Decimal

import pytest

from yanglao.core.testing import HOME_COMMUNITY
from yanglao.facilities import services


@pytest.fixture(autouse=True)
def kinds(db):
    """The kinds loaded by migration 0002 (again, if a transactional test flushed them)."""
    from yanglao.facilities.kinds import ensure_kinds

    ensure_kinds()


def day_care(**overrides):
    """Valid facts of a community day-care centre in the cast's home community."""
    facts = {
        "name": "花园路社区日间照料中心",
        "kind": "day_care",
        "region": HOME_COMMUNITY,
        "operating_model": "public_public",
        "address": "和平区劝业场街道花园路12号",
        "latitude": 39.1172,
        "longitude": 117.195,
        "floor_area_m2": Decimal("450"),
        "services": ["day_care", "meals"],
        "opening_hours": "周一至周日 8:00-17:30",
    }
    facts.update(overrides)
    return facts


def institution(operator=None, **overrides):
    """Valid facts of a care institution with beds, privately run by `operator`."""
    facts = {
        "name": "和平区颐年养老院",
        "kind": "institution",
        "region": "120101001",
        "operating_model": "private" if operator else "public_public",
        "operator": operator,
        "floor_area_m2": Decimal("5200"),
        "beds": 120,
        "occupied_beds": 90,
        "services": ["personal_care", "rehabilitation"],
        "filing_number": "120101-2022-00001",
        "filing_date": "2022-03-01",
        "grade": 3,
        "grade_date": "2023-06-30",
        "ltc_designated": True,
        "monthly_fee_min": Decimal("2800"),
        "monthly_fee_max": Decimal("5600"),
    }
    facts.update(overrides)
    return facts


@pytest.fixture
def make_facility(db):
    def make(facts=None, **overrides):
        return services.facility_create(actor="tests", **{**(facts or day_care()), **overrides})

    return make
