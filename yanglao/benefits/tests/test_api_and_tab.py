"""The benefits API and the elder's 补贴津贴 tab."""

from yanglao.benefits import services
from yanglao.benefits.tests.test_benefits_run import NOVEMBER, setup_city


def test_run_review_approve_and_read_through_the_api(cast, client, make_elder, pack_file):
    people = setup_city(make_elder, pack_file)
    client.force_login(cast.city_admin)
    created = client.post("/api/v1/benefits/runs", {"period": "2026-11"}, content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["totals"]["programmes"]["testcity.senior"]["beneficiaries"] == 2
    assert (
        client.post(
            "/api/v1/benefits/runs", {"period": "2026-13"}, content_type="application/json"
        ).status_code
        == 400
    )
    listed = client.get(
        "/api/v1/benefits/entitlements", {"period": "2026-11", "programme": "testcity.hardship"}
    ).json()
    assert listed["count"] == 2 and {e["kind"] for e in listed["items"]} == {"regular"}
    runs = client.get("/api/v1/benefits/runs", {"period": "2026-11"}).json()
    assert runs["count"] == 1 and runs["items"][0]["totals"]["differences"]["testcity.senior"] == {
        "new": 2,
        "stopped": 0,
        "changed": 0,
    }
    assert client.get("/api/v1/benefits/runs", {"period": "11/2026"}).status_code == 400
    client.force_login(cast.other_district_staff)
    assert client.get("/api/v1/benefits/entitlements", {"period": "2026-11"}).json()["count"] == 0  # scope
    client.force_login(cast.district_staff)
    assert client.post(
        "/api/v1/benefits/reviews",
        {"period": "2026-11", "district": "120101"},
        content_type="application/json",
    ).json() == {"reviewed": 5}
    assert (
        client.post(
            "/api/v1/benefits/approvals", {"period": "2026-11"}, content_type="application/json"
        ).status_code
        == 403
    )
    client.force_login(cast.city_admin)
    assert (
        client.post(
            "/api/v1/benefits/approvals", {"period": "2026-11"}, content_type="application/json"
        ).json()["credited"]
        == 3
    )
    mine = client.get(f"/api/v1/benefits/elders/{people['低保85'].pk}").json()
    assert mine["balance"] == "300.00" and {e["programme_code"] for e in mine["entitlements"]} == {
        "testcity.hardship",
        "testcity.senior",
    }


def test_the_elders_page_shows_entitlements_and_balance(cast, client, make_elder, pack_file):
    people = setup_city(make_elder, pack_file)
    services.benefits_run(actor="tests", period=NOVEMBER)
    client.force_login(cast.community_worker)
    page = client.get(f"/registry/elders/{people['一般92'].pk}/", {"tab": "benefits"}).content.decode()
    assert "高龄津贴（v1）：90–99岁" in page and 'data-testid="balance">0' in page
    assert "待审核" in page and ">draft<" not in page  # the state as a clerk reads it
    client.force_login(cast.district_staff)  # the runs page is for the city's runners
    assert client.get("/api/v1/benefits/runs").status_code == 403


def test_the_demo_loads_the_packs_and_computes_this_month(db):
    import io

    from django.core.management import call_command

    from yanglao.benefits.models import Entitlement, Programme

    call_command("demo", "--no-serve", "--elders", "400", stdout=io.StringIO(), stderr=io.StringIO())
    assert Programme.objects.filter(is_current=True, jurisdiction="1201").count() == 14
    first = Entitlement.objects.count()
    assert first > 0
    call_command("demo", "--no-serve", "--elders", "400", stdout=io.StringIO(), stderr=io.StringIO())
    assert Entitlement.objects.count() == first
