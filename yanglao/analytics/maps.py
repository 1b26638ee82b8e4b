"""The supply-side map (issue: facilities and providers by kind, with clustering): the points a user may
see, grouped into layers, and the region labels that orient the map when no tile server is set."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from yanglao.accounts.scope import home_region
from yanglao.facilities import selectors as facility_selectors
from yanglao.facilities.enums import Status as FacilityStatus
from yanglao.providers import selectors as provider_selectors
from yanglao.providers.enums import ProviderStatus
from yanglao.regions.models import Region

# A fixed palette, so a kind keeps its colour from one visit to the next.
PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
]  # fmt: skip
PROVIDER_COLOUR = "#000000"


def map_layers(actor: Any) -> dict[str, Any]:
    """{"layers": [{key, label, colour, points: [[lat, lng, name, url, note], …]}], "labels": […],
    "centre": [lat, lng]}; facilities (not closed) by kind, then service providers (not terminated)."""
    layers: dict[str, dict[str, Any]] = {}
    facilities = (
        facility_selectors.facilities_visible(actor)
        .exclude(status=FacilityStatus.CLOSED)
        .filter(latitude__isnull=False)
        .order_by("kind__order", "kind_id", "name")
        .values_list("pk", "name", "latitude", "longitude", "kind_id", "kind__name", "status")
    )
    for pk, name, lat, lng, kind, kind_name, status in facilities:
        layer = layers.setdefault(
            f"facility:{kind}",
            {
                "key": f"facility:{kind}",
                "label": kind_name,
                "colour": PALETTE[len(layers) % len(PALETTE)],
                "points": [],
            },
        )
        note = "" if status == FacilityStatus.OPERATING else str(FacilityStatus(status).label)
        layer["points"].append([lat, lng, name, reverse("facilities:detail", args=[pk]), note])
    providers = (
        provider_selectors.providers_visible(actor)
        .exclude(status=ProviderStatus.TERMINATED)
        .filter(latitude__isnull=False)
        .order_by("organisation__name")
        .values_list("pk", "organisation__name", "latitude", "longitude")
    )
    provider_points = [
        [lat, lng, name, reverse("providers:provider_detail", args=[pk]), ""]
        for pk, name, lat, lng in providers
    ]
    result = list(layers.values())
    if provider_points:
        result.append(
            {"key": "providers", "label": "服务机构", "colour": PROVIDER_COLOUR, "points": provider_points}
        )
    return {"layers": result, **_orientation(actor)}


def _orientation(actor: Any) -> dict[str, Any]:
    """Where to centre, and labels for the regions one and two levels below the user's own."""
    try:
        region = home_region(actor)
    except Exception:  # noqa: BLE001 - no divisions loaded: a map of China's centre, no labels
        return {"centre": [35.0, 105.0], "labels": []}
    labelled = Region.objects.filter(parent=region, latitude__isnull=False).values_list(
        "name", "latitude", "longitude"
    )
    labels = [[name, lat, lng] for name, lat, lng in labelled]
    centre = (
        [region.latitude, region.longitude]
        if region.latitude
        else (labels[0][1:] if labels else [35.0, 105.0])
    )
    return {"centre": centre, "labels": labels}
