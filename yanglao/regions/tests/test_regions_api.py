def test_a_region_with_its_path_and_children_count(cast, client):
    client.force_login(cast.community_worker)
    body = client.get("/api/v1/regions/120101001001").json()
    assert body["name"].endswith("社区居委会")
    assert body["level"] == "community"
    assert body["padded_code"] == "120101001001"
    assert [r["code"] for r in body["path"]] == ["12", "1201", "120101", "120101001"]
    assert body["parent"]["code"] == "120101001"


def test_the_zero_padded_form_finds_the_same_region(cast, client):
    client.force_login(cast.city_admin)
    body = client.get("/api/v1/regions/120101000000").json()
    assert body["code"] == "120101"
    assert body["name"] == "和平区"


def test_tianjin_has_sixteen_districts(cast, client):
    client.force_login(cast.city_admin)
    children = client.get("/api/v1/regions/1201/children").json()
    assert len(children) == 16
    assert children[0] == {
        "code": "120101",
        "name": "和平区",
        "level": "district",
        "children_count": children[0]["children_count"],
    }
    assert all(child["children_count"] > 0 for child in children)


def test_a_community_has_no_children(cast, client):
    client.force_login(cast.city_admin)
    assert client.get("/api/v1/regions/120101001001/children").json() == []


def test_a_superuser_corrects_a_centre_point_and_the_change_is_audited(cast, client):
    from yanglao.core.models import AuditLog
    from yanglao.regions.models import Region

    client.force_login(cast.superuser)
    response = client.post(
        "/admin/regions/region/120101001001/change/", {"latitude": "39.12", "longitude": "117.2"}
    )
    assert response.status_code == 302
    assert Region.objects.get(code="120101001001").latitude == 39.12
    row = AuditLog.objects.get(action="region.update", object_id="120101001001")
    assert row.changes["after"] == {"latitude": 39.12, "longitude": 117.2}
    client.force_login(cast.city_admin)
    assert client.post("/admin/regions/region/120101001001/change/", {"latitude": "1"}).status_code == 403
