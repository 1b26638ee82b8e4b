"""The facilities API: list with the page's filters and pages, get, create (201), patch, status, kinds;
rule errors are 422 naming each field, scope gives 403/404, duplicates 409; all in the OpenAPI document."""

import json

from yanglao.facilities.models import Facility
from yanglao.facilities.tests.conftest import day_care, institution

URL = "/api/v1/facilities"


def post(client, url, body):
    return client.post(url, json.dumps(body, default=str), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, json.dumps(body, default=str), content_type="application/json")


def test_create_then_read_it_back(cast, client):
    client.force_login(cast.district_staff)
    response = post(
        client, URL, day_care(operating_model="公建民营", operator=cast.organisations["provider"].pk)
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "day_care" and body["kind_name"] == "社区日间照料中心"
    assert body["region"] == "120101001001" and body["region_name"] == "花园路社区居委会"
    assert body["operating_model"] == "public_private" and body["operator_name"] == "和平区测试服务中心"
    assert body["services"] == ["meals", "day_care"] and body["status"] == "operating"
    assert body["occupancy_rate"] is None and body["filing_missing"] is False
    again = client.get(f"{URL}/{body['id']}").json()
    assert again == body


def test_an_institution_reports_its_occupancy_rate(cast, client):
    client.force_login(cast.city_admin)
    body = post(client, URL, institution()).json()
    assert body["occupancy_rate"] == 0.75 and body["grade"] == 3 and body["ltc_designated"] is True


def test_missing_or_mistyped_fields_are_422_naming_each(cast, client):
    client.force_login(cast.district_staff)
    response = post(client, URL, {"name": "x", "beds": "many"})
    assert response.status_code == 422
    assert {d["field"] for d in response.json()["details"]} >= {"kind", "region", "operating_model", "beds"}


def test_broken_rules_are_422_naming_each_field_in_chinese(cast, client):
    client.force_login(cast.district_staff)
    response = post(client, URL, day_care(beds=5, latitude=80, grade=2, grade_date="2024-01-01"))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert {d["field"]: d["message"] for d in body["details"]} == {
        "latitude": "纬度应在3.8到53.6之间（中国境内），现为80",
        "beds": "社区日间照料中心不设床位，床位数和在住人数应留空",
        "grade": "社区日间照料中心不参加养老机构等级评定（GB/T 37276-2018），请将等级和评定日期留空",
    }
    assert not Facility.objects.exists()


def test_a_community_worker_or_another_district_cannot_create(cast, client):
    client.force_login(cast.community_worker)
    assert post(client, URL, day_care()).status_code == 403
    client.force_login(cast.other_district_staff)
    refused = post(client, URL, day_care())
    assert refused.status_code == 403 and refused.json()["details"][0]["field"] == "region"
    assert not Facility.objects.exists()


def test_a_duplicate_is_409(cast, client):
    client.force_login(cast.district_staff)
    assert post(client, URL, day_care()).status_code == 201
    assert post(client, URL, day_care()).status_code == 409


def test_list_filters_sorts_and_pages(cast, client, make_facility):
    for n in range(55):
        make_facility(name=f"测试日间照料中心{n:02d}")
    make_facility(name="花园路社区老人家食堂", kind="canteen", services=["meals"], ltc_designated=True)
    make_facility(institution(name="河东区颐康养老院", region="120102001", filing_number="F-2"))
    client.force_login(cast.district_staff)
    first = client.get(URL).json()
    assert first["count"] == 56 and len(first["items"]) == 50  # the other district is out of scope
    assert len(client.get(URL, {"page": 2}).json()["items"]) == 6
    canteens = client.get(URL, {"kind": "canteen"}).json()
    assert [f["name"] for f in canteens["items"]] == ["花园路社区老人家食堂"]
    assert client.get(URL, {"ltc": "true"}).json()["count"] == 1
    assert client.get(URL, {"q": "中心5"}).json()["count"] == 5
    assert client.get(URL, {"grade": "none", "operating_model": "public_public"}).json()["count"] == 56
    named = client.get(URL, {"sort": "-name"}).json()["items"]
    assert named[0]["name"] == "花园路社区老人家食堂"
    client.force_login(cast.city_admin)
    graded = client.get(URL, {"grade": ["3", "4"], "region": "120102"}).json()
    assert [f["name"] for f in graded["items"]] == ["河东区颐康养老院"]
    assert client.get(URL, {"service": ["meals", "day_care"]}).json()["count"] == 55


def test_a_bad_filter_is_400_naming_it(cast, client):
    client.force_login(cast.district_staff)
    response = client.get(URL, {"kind": "hospital"})
    assert response.status_code == 400 and response.json()["details"][0]["field"] == "kinds"


def test_patch_changes_only_what_is_sent(cast, client, make_facility):
    facility = make_facility()
    client.force_login(cast.district_staff)
    response = patch(
        client, f"{URL}/{facility.pk}", {"opening_hours": "全天", "latitude": None, "longitude": None}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["opening_hours"] == "全天" and body["latitude"] is None and body["name"] == facility.name
    bad = patch(client, f"{URL}/{facility.pk}", {"occupied_beds": 3})
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "occupied_beds"


def test_another_districts_facility_is_404_everywhere(cast, client, make_facility):
    facility = make_facility()
    client.force_login(cast.other_district_staff)
    assert client.get(f"{URL}/{facility.pk}").status_code == 404
    assert patch(client, f"{URL}/{facility.pk}", {"note": "x"}).status_code == 404
    assert post(client, f"{URL}/{facility.pk}/status", {"status": "closed", "reason": "x"}).status_code == 404


def test_status_changes_through_the_api(cast, client, make_facility):
    facility = make_facility()
    client.force_login(cast.district_staff)
    done = post(client, f"{URL}/{facility.pk}/status", {"status": "suspended", "reason": "整改"})
    assert done.status_code == 200 and done.json()["status"] == "suspended"
    assert (
        post(client, f"{URL}/{facility.pk}/status", {"status": "suspended", "reason": "x"}).status_code == 409
    )
    assert post(client, f"{URL}/{facility.pk}/status", {"status": "closed", "reason": ""}).status_code == 400


def test_readers_without_the_permission_are_refused(cast, client):
    client.force_login(cast.elder)
    assert client.get(URL).status_code == 403
    client.logout()
    assert client.get(URL).status_code == 401


def test_the_endpoints_are_in_the_openapi_document(cast, client):
    client.force_login(cast.city_admin)
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/facilities"])
    assert {"get", "patch"} <= set(paths["/api/v1/facilities/{facility_id}"])
    assert "post" in paths["/api/v1/facilities/{facility_id}/status"]
    assert "get" in paths["/api/v1/facilities/kinds"]
    parameters = {p["name"] for p in paths["/api/v1/facilities"]["get"]["parameters"]}
    assert {"region", "kind", "operating_model", "grade", "ltc", "q", "sort", "page"} <= parameters
