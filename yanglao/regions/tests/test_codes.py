import pytest

from yanglao.core.errors import InvalidInput
from yanglao.regions import codes


@pytest.mark.parametrize(
    "raw,natural",
    [
        ("12", "12"),
        ("1201", "1201"),
        ("120101001001", "120101001001"),
        ("120101001000", "120101001"),
        ("120101000000", "120101"),
        ("120100000000", "1201"),
        ("120000000000", "12"),
        (" 120101 ", "120101"),
    ],
)
def test_codes_are_read_in_natural_or_zero_padded_form(raw, natural):
    assert codes.normalize(raw) == natural


@pytest.mark.parametrize(
    "raw,problem", [("", "请填写"), ("12a1", "只能由数字"), ("12010", "2、4、6、9或12位")]
)
def test_bad_codes_name_the_field_and_problem(raw, problem):
    with pytest.raises(InvalidInput) as caught:
        codes.normalize(raw, field="residence_region")
    assert problem in caught.value.message
    assert caught.value.field == "residence_region"


def test_subtree_range_covers_every_descendant_and_nothing_else():
    low, high = codes.code_range("1209")
    assert (low, high) == ("1209", "1210")
    inside = ["1209", "120901", "120999999999"]
    outside = ["1208", "120", "1210", "121001"]
    assert all(low <= c < high for c in inside)
    assert not any(low <= c < high for c in outside)


def test_the_last_prefix_of_its_length_has_no_upper_bound():
    assert codes.code_range("99") == ("99", None)
