"""Personal data helpers: phone numbers and masking for screens and exports.

Masking keeps enough to tell two people apart on a list (the region part of an ID number, the last
four digits) and hides what identifies or locates a person (birth date, the middle of a phone number).
"""

from __future__ import annotations

import re

from yanglao.core.errors import InvalidInput

MASK = "*"
_PHONE_SEPARATORS = re.compile(r"[\s\-()（）]")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")


def normalize_phone(raw: str) -> str:
    value = _PHONE_SEPARATORS.sub("", raw or "")
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            return value[len(prefix) :]
    if len(value) == 13 and value.startswith("861"):  # a mobile written with the country code, no "+"
        return value[2:]
    return value


def parse_phone(raw: str, *, field: str = "phone") -> str:
    """A mobile (11 digits starting 1) or a landline with its area code; raise InvalidInput otherwise."""
    value = normalize_phone(raw)
    if not value:
        raise InvalidInput("请填写电话号码", field=field)
    if not (MOBILE.match(value) or LANDLINE.match(value)):
        raise InvalidInput("电话号码格式不正确：手机号为1开头的11位数字，固定电话请带区号", field=field)
    return value


def mask_id_number(value: str | None) -> str:
    """120101195001011234 → 120101********1234."""
    if not value:
        return ""
    if len(value) <= 10:
        return MASK * len(value)
    return value[:6] + MASK * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """13812345678 → 138****5678; landlines keep the area code (3 digits for 010 and 02x, else 4) and
    the last four digits: 02223456789 → 022****6789."""
    if not value:
        return ""
    if len(value) <= 7:
        return MASK * len(value)
    # Mobiles and the 3-digit area codes (010, 02x) keep 3 digits; other area codes have 4.
    head = 3 if value.startswith("1") or value[1] in "12" else 4
    return value[:head] + MASK * (len(value) - head - 4) + value[-4:]


def mask_name(value: str | None) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: the family name stays so a clerk can still address the person."""
    if not value:
        return ""
    return value[0] + MASK * (len(value) - 1)
