from datetime import date

from yanglao.registry.tests.conftest import make_id


def post(client, body):
    return client.post("/api/v1/elders", body, content_type="application/json")


def test_create_read_and_find_by_any_spelling_of_the_id_number(cast, client):
    client.force_login(cast.community_worker)
    number = make_id("120101", date(1936, 8, 9))
    legacy = number[:6] + number[8:17]  # the same person's 15-digit number
    response = post(
        client,
        {
            "name": "赵大爷",
            "id_number": legacy,
            "residence_region": "120101001001",
            "living_arrangement": "独居",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id_number"] == number[:6] + "********" + number[-4:]  # masked unless asked for
    assert body["age_band"] == "age_90_99"
    assert {"alone", "gaoling"} <= set(body["groups"])
    for spelling in (
        number,
        number.lower() if number.endswith("X") else number,
        legacy,
        f" {number[:6]}-{number[6:]} ",
    ):
        found = client.get("/api/v1/elders", {"id_number": spelling}).json()
        assert [e["id"] for e in found["items"]] == [body["id"]], spelling
    assert client.get(f"/api/v1/elders/{body['id']}").json()["name"] == "赵大爷"
    assert client.get(f"/api/v1/elders/{body['id']}", {"unmasked": "true"}).json()["id_number"] == number
    listed = client.get("/api/v1/elders", {"unmasked": "true"}).json()
    assert listed["items"][0]["id_number"] == number
    from yanglao.core.models import AuditLog

    assert AuditLog.objects.filter(action="elder.view_personal_numbers").count() == 2


def test_roles_without_pii_view_get_masked_numbers_only(cast, client, make_elder):
    elder = make_elder(region="120101001001", phone="13712345678")
    client.force_login(cast.district_staff)
    body = client.get(f"/api/v1/elders/{elder.pk}").json()
    assert body["id_number"] == elder.id_number[:6] + "********" + elder.id_number[-4:]
    assert body["phone"] == "137****5678"
    assert client.get(f"/api/v1/elders/{elder.pk}", {"unmasked": "true"}).status_code == 403
    assert client.get("/api/v1/elders", {"unmasked": "true"}).status_code == 403


def test_bad_input_is_422_or_400_naming_each_field(cast, client):
    client.force_login(cast.community_worker)
    missing = post(client, {"name": "x"})
    assert missing.status_code == 422
    assert {d["field"] for d in missing.json()["details"]} >= {"id_number", "residence_region"}
    bad = post(client, {"name": "x", "id_number": "120101194005170019", "residence_region": "12010100100"})
    assert bad.status_code == 400
    assert {d["field"] for d in bad.json()["details"]} == {"id_number", "residence_region"}


def test_filters_and_pagination(cast, client, make_elder):
    for i in range(3):
        make_elder(born=date(1930 + i, 1, 1), living_arrangement="独居" if i else "与家人同住")
    client.force_login(cast.city_admin)
    alone = client.get("/api/v1/elders", {"group": "alone"}).json()
    assert alone["count"] == 2
    page = client.get("/api/v1/elders", {"page": 1, "sort": "-age"}).json()
    assert page["count"] == 3
    bad = client.get("/api/v1/elders", {"group": "nonsense"})
    assert bad.status_code == 400 and bad.json()["details"][0]["field"] == "groups"


def test_patch_and_events(cast, client, make_elder):
    elder = make_elder()
    client.force_login(cast.community_worker)
    patched = client.patch(
        f"/api/v1/elders/{elder.pk}", {"economic_status": "低保"}, content_type="application/json"
    )
    assert patched.json()["economic_status"] == "subsistence"
    death = client.post(
        f"/api/v1/elders/{elder.pk}/events",
        {"kind": "death", "on": "2026-01-05"},
        content_type="application/json",
    )
    assert death.status_code == 201
    assert client.get(f"/api/v1/elders/{elder.pk}").json()["status"] == "deceased"
    again = client.post(
        f"/api/v1/elders/{elder.pk}/events",
        {"kind": "hospital_admission", "on": "2026-01-06"},
        content_type="application/json",
    )
    assert again.status_code == 409
    fix = client.post(
        f"/api/v1/elders/{elder.pk}/events",
        {"kind": "correction", "on": "2026-01-07", "reverses": death.json()["id"]},
        content_type="application/json",
    )
    assert fix.status_code == 201
    assert client.get(f"/api/v1/elders/{elder.pk}").json()["status"] == "active"
    assert [e["kind"] for e in client.get(f"/api/v1/elders/{elder.pk}/events").json()] == [
        "correction",
        "death",
    ]


def test_the_openapi_document_lists_the_elder_endpoints(db, client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/elders", "/api/v1/elders/{elder_id}", "/api/v1/elders/{elder_id}/events"} <= set(paths)
