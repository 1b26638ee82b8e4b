"""The supply map in a real browser: clustered points by kind, a layer switch, region labels on a plain
background, popups that link to the facility, and no request leaving the server (no internet tiles)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from yanglao.analytics.tests.test_map import make_facility
from yanglao.core.browser import login
from yanglao.core.testing import PASSWORD

pytestmark = pytest.mark.browser


def test_facilities_cluster_on_a_plain_map_and_open_their_page(browser_page, live_server, live_cast):
    for index in range(12):  # close together: they cluster at the starting zoom
        make_facility(f"和平第{index + 1}日间照料中心", lat=39.117 + index * 0.0004, lng=117.195)
    make_facility("远处的日间照料中心", lat=39.2, lng=117.4)
    page = browser_page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    login(page, live_server.url, live_cast.city_admin.username, PASSWORD)
    page.goto(f"{live_server.url}/map/")

    expect(page.get_by_test_id("point-count")).to_contain_text("13")
    expect(page.locator("#supply-map[data-ready='1']")).to_be_visible()
    expect(page.locator(".marker-cluster").first).to_be_visible()  # clustering works
    expect(page.locator(".leaflet-control-layers")).to_contain_text("社区日间照料中心 (13)")
    expect(page.locator(".region-label").filter(has_text="和平区")).to_have_count(1)

    page.locator(".map-dot").first.click()  # the lone far point is not clustered
    popup = page.locator(".leaflet-popup-content a")
    expect(popup).to_have_text("远处的日间照料中心")
    popup.click()
    expect(page.locator("h1")).to_contain_text("远处的日间照料中心")

    assert errors == []
    foreign = [url for url in requested if not url.startswith(live_server.url + "/")]
    assert not foreign, f"the map fetched from outside the server: {foreign}"
