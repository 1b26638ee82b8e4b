"""The supply map: the points a user may see, by layer, and a page that needs no tile server."""

from decimal import Decimal

from django.test import override_settings

from yanglao.analytics import maps
from yanglao.core.testing import HOME_COMMUNITY
from yanglao.facilities import services as facility_services


def make_facility(name, region=HOME_COMMUNITY, lat=39.117, lng=117.195, **extra):
    from yanglao.facilities.kinds import ensure_kinds

    ensure_kinds()
    facts = {
        "name": name,
        "kind": "day_care",
        "region": region,
        "operating_model": "public_public",
        "latitude": lat,
        "longitude": lng,
        "floor_area_m2": Decimal("300"),
        "services": ["day_care"],
    }
    facts.update(extra)
    return facility_services.facility_create(actor="tests", **facts)


def test_layers_hold_only_the_users_region_and_skip_closed_and_unplaced(cast):
    from yanglao.core.testing import other_community

    make_facility("和平甲中心")
    make_facility("无坐标中心", lat=None, lng=None)
    closed = make_facility("已关闭中心", lat=39.12, lng=117.2)
    facility_services.facility_set_status(actor="tests", facility=closed, status="closed", reason="拆迁")
    make_facility("河东乙中心", region=other_community(), lat=39.12, lng=117.25)
    data = maps.map_layers(cast.district_staff)
    names = [p[2] for layer in data["layers"] for p in layer["points"]]
    assert names == ["和平甲中心"]
    assert data["layers"][0]["label"] == "社区日间照料中心"
    everything = [p[2] for layer in maps.map_layers(cast.city_admin)["layers"] for p in layer["points"]]
    assert sorted(everything) == ["和平甲中心", "河东乙中心"]


def test_the_page_says_when_no_tile_server_is_set_and_never_names_an_outside_host(cast, client):
    make_facility("和平甲中心")
    client.force_login(cast.city_admin)
    page = client.get("/map/").content.decode()
    assert "素色底图" in page and 'id="supply-map"' in page
    assert "openstreetmap" not in page.lower() and "http://" not in page.split("map-options")[1][:200]
    with override_settings(MAP_TILE_URL="https://tiles.intranet.example/{z}/{x}/{y}.png"):
        tiled = client.get("/map/").content.decode()
    assert "tiles.intranet.example" in tiled and "素色底图" not in tiled


def test_roles_without_a_dashboard_cannot_open_the_map(cast, client):
    client.force_login(cast.care_worker)
    assert client.get("/map/").status_code == 403


def test_an_empty_region_shows_an_empty_state(cast, client):
    client.force_login(cast.community_worker)
    assert "还没有标注坐标" in client.get("/map/").content.decode()
