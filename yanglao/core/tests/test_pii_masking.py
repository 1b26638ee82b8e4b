import pytest

from yanglao.core import pii
from yanglao.core.errors import InvalidInput


def test_id_number_keeps_region_and_last_four():
    assert pii.mask_id_number("11010519491231002X") == "110105********002X"


def test_phone_keeps_prefix_and_last_four():
    assert pii.mask_phone("13812345678") == "138****5678"
    assert pii.mask_phone("02223456789") == "022****6789"
    assert pii.mask_phone("031187654321") == "0311****4321"


def test_names_keep_the_family_name():
    assert pii.mask_name("张三") == "张*"
    assert pii.mask_name("欧阳娜娜") == "欧***"


def test_empty_values_mask_to_empty():
    assert pii.mask_id_number(None) == pii.mask_phone("") == pii.mask_name("") == ""


@pytest.mark.parametrize(
    "raw,expected", [("+86 138-1234-5678", "13812345678"), ("022-2345 6789", "02223456789")]
)
def test_phone_numbers_normalise(raw, expected):
    assert pii.parse_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "abc", "2345678"])
def test_bad_phone_numbers_are_refused_naming_the_field(raw):
    with pytest.raises(InvalidInput) as caught:
        pii.parse_phone(raw, field="phone")
    assert caught.value.field == "phone"
