"""Reads of accounts that other apps share."""

from __future__ import annotations

from typing import Any

from yanglao.accounts.models import Organisation
from yanglao.core import creditcode
from yanglao.core.errors import InvalidInput


def organisation_by_credit_code(raw: Any, *, field: str, role: str = "机构") -> Organisation:
    """The registered organisation with this unified social credit code (any spacing or case), or an
    error naming `field`, as an import row refers to an operator or an employer."""
    code = creditcode.normalize(str(raw))
    found = Organisation.objects.filter(credit_code=code).first()
    if found is None:
        raise InvalidInput(f"统一社会信用代码为“{code}”的{role}尚未登记", field=field)
    return found
