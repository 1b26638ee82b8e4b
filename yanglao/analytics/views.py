from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from yanglao.analytics.selectors import dashboard
from yanglao.core.permissions import Perm


@login_required
def home(request):
    """The home dashboard for the user's scope: a row and a bar per child region."""
    if not request.user.has_perm(Perm.DASHBOARD_VIEW):
        # Roles without a dashboard (care workers, volunteers, elders) get start pages from the apps
        # that serve them; until those exist they see a plain start page.
        return render(request, "analytics/start.html")
    board = dashboard(request.user, request.GET.get("region") or None)
    chart = {
        "names": [row.region.name for row in board.rows],
        "series": [
            {"name": str(label), "data": [row.figures[key] for row in board.rows]}
            for key, label in board.columns
        ],
    }
    return render(request, "analytics/home.html", {"board": board, "chart": chart})
