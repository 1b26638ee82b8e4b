"""Unified social credit codes (统一社会信用代码), GB 32100-2015.

18 characters over the 31-character set 0-9 A-H J-N P-R T U W-Y (no I, O, Z, S, V): 1 registration
authority, 1 organisation kind, 6-digit administrative division code, 9-character organisation code,
and a check character. Check: weights 3^i mod 31 for positions 1-17; C18 = 31 - (sum mod 31), and 31
means "0".
"""

from __future__ import annotations

from yanglao.core.errors import InvalidInput

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
# Registration authorities (first character) and the kinds each may issue (second character), GB 32100 Table 1.
AUTHORITIES = {
    "1": "1239",  # 机构编制
    "2": "19",  # 外交
    "3": "1239",  # 司法行政
    "4": "19",  # 文化
    "5": "1239",  # 民政
    "6": "129",  # 旅游
    "7": "129",  # 宗教
    "8": "129",  # 工会
    "9": "123",  # 工商
    "A": "19",  # 中央军委改革和编制办公室
    "N": "12349",  # 农业
    "Y": "1",  # 其他
}


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(ch) * weight for ch, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalize(raw: str) -> str:
    return "".join((raw or "").split()).upper()


def parse(raw: str, *, field: str = "credit_code") -> str:
    """Validate a unified social credit code and return it upper-cased; raise InvalidInput naming the problem."""
    code = normalize(raw)
    if not code:
        raise InvalidInput("请填写统一社会信用代码", field=field)
    if len(code) != 18:
        raise InvalidInput(f"统一社会信用代码应为18位，现为{len(code)}位", field=field)
    bad = sorted({ch for ch in code if ch not in ALPHABET})
    if bad:
        raise InvalidInput(
            "统一社会信用代码含有不允许的字符：" + "、".join(bad) + "（不使用I、O、Z、S、V）", field=field
        )
    kinds = AUTHORITIES.get(code[0])
    if kinds is None:
        raise InvalidInput(f"统一社会信用代码第1位“{code[0]}”不是有效的登记管理部门代码", field=field)
    if code[1] not in kinds:
        raise InvalidInput(f"统一社会信用代码第2位“{code[1]}”不是该登记管理部门的机构类别", field=field)
    if not code[2:8].isdigit():
        raise InvalidInput("统一社会信用代码第3至8位应为行政区划代码（数字）", field=field)
    if code[17] != check_character(code[:17]):
        raise InvalidInput("统一社会信用代码校验位错误，请核对是否抄错", field=field)
    return code


def is_valid(raw: str) -> bool:
    try:
        parse(raw)
    except InvalidInput:
        return False
    return True
