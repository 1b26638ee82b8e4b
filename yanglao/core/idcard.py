"""Resident identity card numbers (公民身份号码), GB 11643-1999.

18 characters: 6-digit address code, 8-digit birth date, 3-digit sequence (odd = male), check character.
The check character is ISO 7064 MOD 11-2: weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, the weighted sum
mod 11 indexes "10X98765432". A legacy 15-digit number has a 2-digit year and no check character; it
converts by inserting "19" after the address code and computing the check character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from yanglao.core.errors import InvalidInput

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
# Province-level codes of GB/T 2260 (mainland, plus 71 Taiwan, 81 Hong Kong, 82 Macau).
PROVINCE_CODES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)
EARLIEST_BIRTH = date(1890, 1, 1)  # nobody alive was born earlier; an earlier date is a typing error

_SEPARATORS = re.compile(r"[\s\-]")


@dataclass(frozen=True)
class IdCard:
    number: str  # always the 18-character form, upper-case X
    birth_date: date
    sex: str  # "male" or "female"
    address_code: str

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


def check_character(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def normalize(raw: str) -> str:
    """Strip spaces and dashes, upper-case the X, and convert a 15-digit number to 18 digits.

    Does not validate; `parse` does. Used for exact lookup, so every accepted spelling of one number
    hashes the same.
    """
    value = _SEPARATORS.sub("", raw or "").upper()
    if len(value) == 15 and value.isdigit():
        first17 = value[:6] + "19" + value[6:]
        return first17 + check_character(first17)
    return value


def parse(raw: str, *, field: str = "id_number", today: date | None = None) -> IdCard:
    """Validate an ID-card number and return its facts; raise InvalidInput naming the problem."""
    today = today or date.today()
    original = _SEPARATORS.sub("", raw or "").upper()
    if not original:
        raise InvalidInput("请填写身份证号码", field=field)
    if len(original) not in (15, 18):
        raise InvalidInput(f"身份证号码应为18位（或旧版15位），现为{len(original)}位", field=field)
    if len(original) == 15 and not original.isdigit():
        raise InvalidInput("15位身份证号码只能由数字组成", field=field)
    if len(original) == 18 and not (
        original[:17].isdigit() and (original[17].isdigit() or original[17] == "X")
    ):
        raise InvalidInput("身份证号码前17位应为数字，最后一位为数字或X", field=field)
    number = normalize(original)
    if number[:2] not in PROVINCE_CODES:
        raise InvalidInput(f"身份证号码的地址码（前两位{number[:2]}）不是有效的省级代码", field=field)
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidInput(f"身份证号码中的出生日期 {number[6:14]} 不是有效日期", field=field) from None
    if born > today:
        raise InvalidInput(f"身份证号码中的出生日期 {born.isoformat()} 晚于今天", field=field)
    if born < EARLIEST_BIRTH:
        raise InvalidInput(f"身份证号码中的出生日期 {born.isoformat()} 不合理（早于1890年）", field=field)
    expected = check_character(number[:17])
    if len(original) == 18 and original[17] != expected:
        raise InvalidInput("身份证号码校验位错误，请核对号码是否抄错", field=field)
    sex = "male" if int(number[16]) % 2 == 1 else "female"
    return IdCard(number=number, birth_date=born, sex=sex, address_code=number[:6])


def is_valid(raw: str) -> bool:
    try:
        parse(raw)
    except InvalidInput:
        return False
    return True
