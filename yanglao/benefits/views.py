"""Benefits on the elder's page: what the elder is owed month by month, and their service account."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from yanglao.benefits import selectors


def elder_tab(request: Any, elder: Any) -> str:
    """The 补贴津贴 tab: the latest entitlements with their reasons, the balance and the ledger."""
    return render_to_string("benefits/_elder_tab.html", selectors.elder_benefits(elder.pk), request=request)
