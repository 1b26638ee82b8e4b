"""The demo step: load the four shipped packs re-targeted to the demo city, and compute this month, so
the subsidy pages and each elder's 补贴津贴 tab have something to show. Both are idempotent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from yanglao.benefits import services


def demo_benefits(*, root: str = "1201", stdout: Any = None, **options: Any) -> int:
    services.policies_load(actor="demo", path=Path(settings.BASE_DIR) / "policies", jurisdiction=root)
    run = services.benefits_run(actor="demo", period=timezone.localdate())
    count = sum(row["beneficiaries"] for row in run.totals.get("programmes", {}).values())
    if stdout is not None:
        stdout.write(f"demo benefits: four policy packs loaded for {root}, {count} entitlements this month")
    return count
