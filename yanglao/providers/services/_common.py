"""What the provider services share: who counts as a person, the permission checks, region lookup."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

from yanglao.accounts.scope import is_person, require_perm, require_region
from yanglao.core.errors import InvalidInput
from yanglao.core.permissions import Perm
from yanglao.providers import validation
from yanglao.providers.validation import Problems
from yanglao.regions import codes
from yanglao.regions.models import Region

MAX_PRICE = Decimal("100000")  # per unit; a larger figure is a typing error (a budget typed as a price)
MAX_BUDGET = Decimal("1000000000")
MAX_CAPACITY = 100_000
MIN_WORKING_AGE = 16  # 劳动法 第十五条: no employment under 16


def require_manage(actor: Any, region_code: str, *, hide: bool = False) -> None:
    """PROVIDERS_MANAGE inside the region; with hide=True a region outside scope answers 404."""
    if is_person(actor):
        require_perm(actor, Perm.PROVIDERS_MANAGE)
        require_region(actor, region_code, hide=hide)


def known_region(code: Any, *, field: str, label: str) -> Region:
    normal = codes.normalize(str(code or ""), field=field)
    found = Region.objects.filter(code=normal).first()
    if found is None:
        raise InvalidInput(f"{label}代码“{code}”不存在（尚未导入或已撤销）", field=field)
    return found


def today() -> date:
    return timezone.localdate()


def clean_status(
    status: str, reason: str, choices: Any, stopping: tuple[str, ...], label: str
) -> tuple[str, str]:
    """A status (code or Chinese label) and its reason, required when work stops."""
    problems = Problems()
    chosen = problems.check("status", lambda: validation.choice(status, choices, field="status", label=label))
    why = problems.check(
        "status_reason",
        lambda: validation.text(
            reason, field="status_reason", label="状态说明", max_length=300, required=chosen in stopping
        ),
    )
    problems.raise_any()
    return str(chosen), why or ""
