from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yanglao.core import idcard
from yanglao.core.errors import InvalidInput

# Examples printed in GB 11643-1999 and numbers built from public division codes with the check rule.
KNOWN_VALID = [
    ("11010519491231002X", date(1949, 12, 31), "female"),
    ("120101195001011230", date(1950, 1, 1), "male"),
]


@pytest.mark.parametrize("number,born,sex", KNOWN_VALID)
def test_known_valid_numbers_give_birth_date_and_sex(number, born, sex):
    card = idcard.parse(number)
    assert (card.number, card.birth_date, card.sex) == (number, born, sex)


def test_the_standards_second_example_has_a_right_check_character_but_an_implausible_birth_year():
    # 440524188001010014 is GB 11643's own example (born 1880): its check character is right…
    assert idcard.check_character("44052418800101001") == "4"
    # …but nobody born in 1880 is alive, so the platform refuses it as a typing error.
    with pytest.raises(InvalidInput, match="不合理"):
        idcard.parse("440524188001010014")


def test_lower_case_x_spaces_and_dashes_are_accepted():
    assert idcard.parse(" 110105-19491231-002x ").number == "11010519491231002X"


def test_fifteen_digit_number_converts_to_eighteen():
    card = idcard.parse("110105491231002")
    assert card.number == "11010519491231002X"
    assert card.birth_date == date(1949, 12, 31)
    assert idcard.normalize("110105491231002") == "11010519491231002X"


@pytest.mark.parametrize(
    "number,problem",
    [
        ("", "请填写"),
        ("1101051949123100", "应为18位"),
        ("11010519491231002Y", "最后一位"),
        ("11010519491231002A", "最后一位"),
        ("110105194912310021", "校验位错误"),
        ("110105194902300028", "不是有效日期"),  # 30 February
        ("990105194912310023", "省级代码"),
        ("11010521491231002X", "晚于今天"),
        ("11010A491231002", "只能由数字"),
    ],
)
def test_invalid_numbers_are_refused_with_the_reason(number, problem):
    with pytest.raises(InvalidInput) as caught:
        idcard.parse(number, field="id_number")
    assert problem in caught.value.message
    assert caught.value.field == "id_number"


def test_a_future_birth_date_is_judged_against_today():
    with pytest.raises(InvalidInput, match="晚于今天"):
        idcard.parse("120101202601011232", today=date(2025, 12, 31))


def test_age_counts_whole_years():
    card = idcard.parse("120101195001011230")
    assert card.age_on(date(2025, 12, 31)) == 75
    assert card.age_on(date(2026, 1, 1)) == 76


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    st.integers(min_value=0, max_value=999),
)
def test_every_number_built_by_the_rule_is_valid_and_one_changed_digit_is_not(born, sequence):
    first17 = f"120101{born:%Y%m%d}{sequence:03d}"
    number = first17 + idcard.check_character(first17)
    card = idcard.parse(number)
    assert card.birth_date == born
    assert card.sex == ("male" if sequence % 2 else "female")
    # Changing the sequence digit always changes the weighted sum (weight 4 ≠ 0 mod 11).
    altered = first17[:16] + str((int(first17[16]) + 1) % 10) + number[17]
    assert not idcard.is_valid(altered)
