import pytest

from yanglao.core import creditcode
from yanglao.core.errors import InvalidInput

# Codes published by their organisations (and the example used in GB 32100 material).
KNOWN_VALID = ["91350100M000100Y43", "91110000802100433B", "12100000400000624D"]


def test_weights_are_powers_of_three_mod_31():
    assert creditcode.WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_known_valid_codes_pass(code):
    assert creditcode.parse(code) == code


def test_lower_case_and_spaces_are_normalised():
    assert creditcode.parse(" 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    "code,problem",
    [
        ("", "请填写"),
        ("91350100M000100Y4", "应为18位"),
        ("91350100M000100Y44", "校验位错误"),
        ("91350100M00O100Y43", "不允许的字符"),  # letter O is not in the set
        ("Z1350100M000100Y43", "不允许的字符"),
        ("B1350100M000100Y43", "登记管理部门"),
        ("94350100M000100Y43", "机构类别"),
        ("913501A0M000100Y43", "行政区划代码"),
    ],
)
def test_invalid_codes_are_refused_with_the_reason(code, problem):
    with pytest.raises(InvalidInput) as caught:
        creditcode.parse(code)
    assert problem in caught.value.message
    assert caught.value.field == "credit_code"


def test_check_character_thirty_one_maps_to_zero():
    # Find a prefix whose weighted sum is 0 mod 31: its check character must be "0", not out of range.
    base = "5212010100000000"
    for ch in creditcode.ALPHABET:
        first17 = base + ch
        total = sum(
            creditcode.ALPHABET.index(c) * w for c, w in zip(first17, creditcode.WEIGHTS, strict=True)
        )
        if total % 31 == 0:
            assert creditcode.check_character(first17) == "0"
            assert creditcode.is_valid(first17 + "0")
            return
    pytest.skip("no such prefix in this family")
