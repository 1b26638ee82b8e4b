from datetime import date

import pytest

from yanglao.core import idcard
from yanglao.registry import services

_serial = iter(range(1, 10**6))


def make_id(district: str = "120101", born: date = date(1940, 5, 17), male: bool = True) -> str:
    """A valid ID number: odd sequence for men, even for women (never 000); unique for up to 499 calls
    with the same district, birth date and sex, far more than one test makes."""
    serial = next(_serial)
    sequence = (serial % 499) * 2 + (1 if male else 2)
    first17 = f"{district}{born:%Y%m%d}{sequence:03d}"
    return first17 + idcard.check_character(first17)


@pytest.fixture
def make_elder(db):
    def make(region: str = "120101001001", *, born: date = date(1940, 5, 17), male: bool = True, **facts):
        facts.setdefault("name", "张建国")
        facts.setdefault("id_number", make_id(region[:6], born, male))
        return services.elder_register(actor="tests", residence_region=region, **facts)

    return make
