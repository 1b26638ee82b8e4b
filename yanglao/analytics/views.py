from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from yanglao.analytics import maps
from yanglao.analytics.selectors import dashboard
from yanglao.core.errors import PermissionDenied
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


@login_required
def supply_map(request):
    """Facilities and providers on a Leaflet map, clustered, one layer per kind. Tiles come from the
    intranet server in YANGLAO_MAP_TILE_URL; with none the map shows the points and region labels on a
    plain background, so it works on a network without internet access."""
    if not request.user.has_perm(Perm.DASHBOARD_VIEW):
        raise PermissionDenied("您的角色没有查看地图的权限")
    data = maps.map_layers(request.user)
    options = {"tiles": settings.MAP_TILE_URL, "attribution": settings.MAP_ATTRIBUTION}
    return render(
        request,
        "analytics/map.html",
        {"data": data, "options": options, "count": sum(len(layer["points"]) for layer in data["layers"])},
    )
