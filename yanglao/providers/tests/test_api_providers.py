"""The providers API: create, read, change, status, areas, offers, contracts, the serving query and the
catalogue; 201 on creation, 422 for malformed bodies, 400/409 for broken rules, 404 outside scope."""

from yanglao.core.models import AuditLog
from yanglao.core.testing import HOME_COMMUNITY, HOME_STREET
from yanglao.providers.tests.conftest import provider_facts

API = "/api/v1/providers"


def json(client, method, url, body=None):
    return getattr(client, method)(url, body, content_type="application/json")


def test_create_read_and_list_a_provider(cast, client):
    client.force_login(cast.city_admin)
    facts = provider_facts(service_areas=[HOME_STREET], latitude=39.12, longitude=117.2)
    created = json(client, "post", API, facts)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == facts["name"] and body["service_areas"] == [HOME_STREET]
    assert body["contact_phone"] == "022****6789" and body["status"] == "active"
    assert client.get(f"{API}/{body['id']}").json()["credit_code"] == facts["credit_code"]
    listed = client.get(API, {"q": "安康"}).json()
    assert [p["id"] for p in listed["items"]] == [body["id"]]
    assert client.get(API, {"status": "nonsense"}).status_code == 400


def test_a_malformed_body_is_422_naming_each_field(cast, client):
    client.force_login(cast.city_admin)
    response = json(client, "post", API, {"name": "x", "daily_capacity": "many"})
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["details"]}
    assert {"credit_code", "region", "legal_form", "legal_representative", "daily_capacity"} <= fields


def test_broken_rules_are_400_or_409_with_the_field(cast, client):
    client.force_login(cast.city_admin)
    bad = json(client, "post", API, provider_facts(credit_code="91120101MA0000000X"))
    assert bad.status_code == 400 and bad.json()["details"][0]["field"] == "credit_code"
    taken = json(client, "post", API, provider_facts(credit_code=cast.organisations["provider"].credit_code))
    assert taken.status_code == 409 and taken.json()["details"][0]["field"] == "credit_code"


def test_outside_scope_is_404_and_without_permission_403(cast, client, provider):
    client.force_login(cast.other_district_staff)
    assert client.get(f"{API}/{provider.pk}").status_code == 404
    client.force_login(cast.district_staff)
    assert client.get(f"{API}/{provider.pk}").status_code == 200
    assert json(client, "patch", f"{API}/{provider.pk}", {"daily_capacity": 5}).status_code == 403
    assert client.get(f"{API}/999999").status_code == 404


def test_patch_status_and_areas(cast, client, provider):
    client.force_login(cast.city_admin)
    patched = json(client, "patch", f"{API}/{provider.pk}", {"daily_capacity": 75, "address": "南京路1号"})
    assert patched.status_code == 200 and patched.json()["daily_capacity"] == 75
    missing_reason = json(client, "post", f"{API}/{provider.pk}/status", {"status": "suspended"})
    assert missing_reason.status_code == 400
    assert missing_reason.json()["details"][0]["field"] == "status_reason"
    suspended = json(client, "post", f"{API}/{provider.pk}/status", {"status": "suspended", "reason": "整改"})
    assert suspended.json()["status"] == "suspended"
    areas = json(client, "put", f"{API}/{provider.pk}/areas", {"regions": ["120101002", "120101003"]})
    assert areas.json()["service_areas"] == ["120101002", "120101003"]
    unknown = json(client, "put", f"{API}/{provider.pk}/areas", {"regions": ["120101999"]})
    assert unknown.status_code == 400 and unknown.json()["details"][0]["field"] == "service_areas"


def test_the_contact_phone_unmasked_needs_pii_view_and_is_audited(cast, client, provider):
    client.force_login(cast.district_staff)
    assert client.get(f"{API}/{provider.pk}").json()["contact_phone"] == "138****5678"
    assert client.get(f"{API}/{provider.pk}", {"unmasked": "true"}).status_code == 403
    client.force_login(cast.city_admin)
    assert client.get(f"{API}/{provider.pk}", {"unmasked": "true"}).json()["contact_phone"] == "13812345678"
    assert AuditLog.objects.filter(action="provider.view_contact_phone").count() == 1


def test_offers_are_put_listed_and_withdrawn(cast, client, provider):
    client.force_login(cast.city_admin)
    put = json(client, "put", f"{API}/{provider.pk}/offers/cleaning", {"price": "39.90"})
    assert put.status_code == 200 and put.json()["price"] == "39.90"
    assert json(client, "put", f"{API}/{provider.pk}/offers/cleaning", {"price": 0}).status_code == 400
    assert json(client, "put", f"{API}/{provider.pk}/offers/massage", {"price": 10}).status_code == 404
    offers = client.get(f"{API}/{provider.pk}/offers").json()
    assert [o["item"] for o in offers] == ["bathing", "cleaning"]
    withdrawn = client.delete(f"{API}/{provider.pk}/offers/cleaning")
    assert withdrawn.status_code == 200 and withdrawn.json()["is_active"] is False
    assert [o["item"] for o in client.get(f"{API}/{provider.pk}/offers", {"active": "true"}).json()] == [
        "bathing"
    ]


def test_contracts_are_created_listed_and_patched(cast, client, provider):
    client.force_login(cast.city_admin)
    body = {
        "number": "HP-2026-01",
        "title": "助浴服务",
        "region": "120101",
        "start_on": "2026-01-01",
        "end_on": "2026-12-31",
        "budget": "500000",
        "items": ["bathing"],
    }
    created = json(client, "post", f"{API}/{provider.pk}/contracts", body)
    assert created.status_code == 201, created.content
    contract = created.json()
    assert contract["items"] == ["bathing"] and contract["budget"] == "500000.00"
    duplicate = json(client, "post", f"{API}/{provider.pk}/contracts", body)
    assert duplicate.status_code == 409 and duplicate.json()["details"][0]["field"] == "number"
    backwards = json(
        client, "post", f"{API}/{provider.pk}/contracts", {**body, "number": "B", "end_on": "2025-01-01"}
    )
    assert backwards.status_code == 400 and backwards.json()["details"][0]["field"] == "end_on"
    patched = json(client, "patch", f"{API}/{provider.pk}/contracts/{contract['id']}", {"budget": "600000"})
    assert patched.json()["budget"] == "600000.00"
    assert [c["number"] for c in client.get(f"{API}/{provider.pk}/contracts").json()] == ["HP-2026-01"]
    assert json(client, "patch", f"{API}/{provider.pk}/contracts/999999", {"budget": "1"}).status_code == 404


def test_the_serving_query(cast, client, provider, other_provider):
    client.force_login(cast.community_worker)
    rows = client.get(f"{API}/serving", {"region": HOME_COMMUNITY, "item": "bathing"}).json()
    assert [(r["provider"], r["price"]) for r in rows] == [(provider.pk, "85.00")]
    unknown = client.get(f"{API}/serving", {"region": HOME_COMMUNITY, "item": "massage"})
    assert unknown.status_code == 404 and unknown.json()["details"][0]["field"] == "item"
    assert client.get(f"{API}/serving", {"region": HOME_COMMUNITY}).status_code == 422


def test_the_catalogue_is_listed_to_all_and_changed_by_the_city(cast, client):
    client.force_login(cast.community_worker)
    items = client.get(f"{API}/catalogue").json()
    assert len(items) == 12 and items[1]["code"] == "bathing" and items[1]["unit_label"] == "次"
    assert json(client, "patch", f"{API}/catalogue/bathing", {"reference_price": "85"}).status_code == 403
    client.force_login(cast.city_admin)
    patched = json(client, "patch", f"{API}/catalogue/bathing", {"reference_price": "85"})
    assert patched.status_code == 200 and patched.json()["reference_price"] == "85.00"
    created = json(
        client,
        "post",
        f"{API}/catalogue",
        {
            "code": "foot_care",
            "name": "足部护理",
            "unit": "visit",
            "standard_minutes": 40,
            "reference_price": 50,
        },
    )
    assert created.status_code == 201
    assert json(client, "patch", f"{API}/catalogue/nothing", {"name": "x"}).status_code == 404
    bad = json(client, "patch", f"{API}/catalogue/bathing", {"standard_minutes": 0})
    assert bad.status_code == 400 and bad.json()["details"][0]["field"] == "standard_minutes"
