"""Division codes as text: validation, the natural form, and the index range of a subtree."""

from __future__ import annotations

from django.db.models import Q

from yanglao.core.errors import InvalidInput

NATURAL_LENGTHS = (2, 4, 6, 9, 12)


def normalize(raw: str, *, field: str = "region") -> str:
    """Return the natural-length code for `raw` (a 2/4/6/9/12-digit code, or 12 digits padded with
    zeros); raise InvalidInput naming the field and the problem."""
    code = (raw or "").strip()
    if not code:
        raise InvalidInput("请填写行政区划代码", field=field)
    if not code.isdigit():
        raise InvalidInput(f"行政区划代码“{code}”只能由数字组成", field=field)
    if len(code) not in NATURAL_LENGTHS:
        raise InvalidInput(f"行政区划代码“{code}”应为2、4、6、9或12位数字，现为{len(code)}位", field=field)
    if len(code) == 12:
        # Drop the zero-filled tail: 120101001000 is the street 120101001, 120100000000 the city 1201.
        for length in (2, 4, 6, 9):
            if code[length:] == "0" * (12 - length):
                code = code[:length]
                break
    return code


def code_range(prefix: str) -> tuple[str, str | None]:
    """[low, high) bounds of every code under `prefix` (including itself).

    The upper bound is the next prefix of the same length (1201 → 1202, 1209 → 1210), compared as
    text. Digits sort the same way in every collation, so the range is right on SQLite and on
    PostgreSQL whatever its locale, and it uses the primary-key index.
    """
    following = str(int(prefix) + 1).zfill(len(prefix))
    return prefix, (following if len(following) == len(prefix) else None)


def within(prefix: str, field: str = "code") -> Q:
    """Q for rows whose `field` (a division code column) lies in the subtree of `prefix`."""
    low, high = code_range(prefix)
    condition = Q(**{f"{field}__gte": low})
    if high is not None:
        condition &= Q(**{f"{field}__lt": high})
    return condition
