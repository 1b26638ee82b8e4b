from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from yanglao.core.navigation import ITEMS, allows


def navigation(request):
    """Entries of the navigation bar the signed-in user may open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for item in ITEMS:
        if item.staff_only and not user.is_staff:
            continue
        if not allows(item, user):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"label": item.label, "url": url, "active": request.path == url})
    return {"nav_items": items}
