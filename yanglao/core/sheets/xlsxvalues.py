"""What the text of an .xlsx cell means, as python-calamine reads it: the number formats that make a
number a date or a duration, Excel serial numbers as dates, times and durations (with the 1900
leap-year day and the 1904 date system), ISO dates, booleans and error cells, _xHHHH_ escapes, column
letters and the <dimension> ref. Pure functions of text, kept apart from the streaming (xlsx.py) whose
two ways of reading rows both use them, so both give the same values."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta
from typing import Any

_DATE, _DURATION = 1, 2
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_EPOCH_1904 = datetime(1904, 1, 1)
_MS_PER_DAY = 86_400_000
_ESCAPE = re.compile(r"_x00([0-9a-fA-F]{2})_")
# The number formats Excel has without writing them down (ECMA-376 18.8.30), as python-calamine takes them.
_BUILTIN_FORMATS = {**dict.fromkeys((*range(14, 23), 45, 47), _DATE), 46: _DURATION}


def _format_kind(code: str) -> int:
    """Whether a custom number format shows a date/time (_DATE), a duration (_DURATION) or neither (0),
    decided as python-calamine decides it: a d/m/h/y/s outside quotes, escapes and [brackets] (or
    A/P after an a), or a bracketed [h]/[m]/[s] for a duration; only the first section counts."""
    escaped = quoted = am_pm = hms = False
    brackets = 0
    previous = " "
    for char in code:
        if escaped:
            escaped = False
        elif char in "_\\*":  # the next character is a literal (a width, an escape, a fill)
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"':
            quoted = True
        elif char == ";":
            return 0
        elif char == "[":
            brackets += 1
        elif char == "]" and brackets == 1 and hms:
            return _DURATION
        elif char == "]":
            brackets = max(0, brackets - 1)
        elif char in "aA" and not am_pm and not brackets:
            am_pm = True
        elif not brackets and (char in "pmPM/" if am_pm else char in "dmhysDMHYS"):
            return _DATE
        elif not (hms and char.lower() == previous.lower()):
            hms = previous == "[" and char in "mhsMHS"
        previous = char
    return 0


def _unescaped(text: str) -> str:
    """Text with its _xHHHH_ escapes (ECMA-376 22.4.2.4: "\r" is written _x000D_, a literal _x000D_
    as _x005F_x000D_) read back, for the characters python-calamine reads back: U+0000 to U+00FF."""
    return _ESCAPE.sub(lambda match: chr(int(match[1], 16)), text)


def _column(letters: str) -> int:
    """A → 0, Z → 25, AA → 26; -1 if these are not column letters."""
    number = 0
    for char in letters.upper():
        if not "A" <= char <= "Z":
            return -1
        number = number * 26 + ord(char) - 64
    return number - 1


def _round_half_away(value: float) -> int:
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _serial_value(value: float, kind: int, is_1904: bool) -> Any:
    """A number in a date- or duration-formatted cell, as python-calamine gives it: a date for a whole
    number, a datetime with a fraction, a time below 1 (a time of day typed alone), a timedelta for a
    duration; to the millisecond; serials before 1900-03-01 shifted by Excel's 1900 leap-year day."""
    try:
        if kind == _DURATION:
            return timedelta(milliseconds=_round_half_away(value * _MS_PER_DAY))
        if is_1904:
            moment = _EXCEL_EPOCH_1904 + timedelta(milliseconds=_round_half_away(value * _MS_PER_DAY))
        else:
            days = value if value >= 60 else value + 1
            moment = _EXCEL_EPOCH + timedelta(milliseconds=_round_half_away(days * _MS_PER_DAY))
    except (OverflowError, ValueError):
        return value
    if value < 1:
        return moment.time()
    if value.is_integer():
        return moment.date()
    return moment


def _iso_value(text: str) -> Any:
    """A t="d" cell (ISO 8601, as Strict OOXML and openpyxl's iso_dates write dates)."""
    try:
        if "T" in text or " " in text:
            return datetime.fromisoformat(text.rstrip("Z"))
        if ":" in text:
            return time.fromisoformat(text)
        return date.fromisoformat(text)
    except ValueError:
        return text


def _dimension_rows(dimension: str | None) -> int | None:
    """Rows below the first by the sheet's <dimension ref="A1:T200001">, for progress."""
    if not dimension:
        return None
    first, _, last = dimension.partition(":")
    try:
        top = int(first.upper().lstrip("$ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        bottom = int((last or first).upper().lstrip("$ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    except ValueError:
        return None
    return max(0, bottom - top)


def _other_value(kind: str, text: str) -> Any:
    """A cell of a rarer type (t="b", "e", "str", "d" or unknown) from the text of its <v>."""
    if kind == "str":  # a formula's text
        return _unescaped(text) if "_x00" in text else text
    if not text:
        return ""
    if kind == "b":
        return text != "0"
    if kind == "e":
        return ""  # #DIV/0!, #N/A…: python-calamine gives an empty cell
    if kind == "d":
        return _iso_value(text)
    return text
