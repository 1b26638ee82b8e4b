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


def test_the_bank_account_is_registered_on_the_tab_and_through_the_api(cast, client, make_elder):
    from yanglao.benefits.models import BankAccount

    elder = make_elder(name="王发放")
    client.force_login(cast.community_worker)
    tab = client.get(f"/registry/elders/{elder.pk}/", {"tab": "benefits"}).content.decode()
    assert "未登记发放账户" in tab and 'data-testid="bank-account-form"' in tab
    url = f"/benefits/elders/{elder.pk}/bank-account/"
    refused = client.post(
        url, {"bank_name": "天津银行", "account_name": "王发放", "account_number": "12ab"}, follow=True
    )
    assert "发放账户未保存：账号应为 12～30 位数字" in refused.content.decode()
    assert not BankAccount.objects.exists()  # nothing half-written
    saved = client.post(
        url,
        {"bank_name": "天津银行", "account_name": "王发放", "account_number": "6217 0000 1111 2222 333"},
        follow=True,
    ).content.decode()
    assert "发放账户已保存" in saved and "6217***********2333" in saved and "62170000111122223" not in saved
    assert BankAccount.objects.get(elder_id=elder.pk).account_number == "6217000011112222333"

    changed = client.put(
        f"/api/v1/benefits/elders/{elder.pk}/bank-account",
        {"bank_name": "中国银行", "account_name": "王发放", "account_number": "6013820000000000001"},
        content_type="application/json",
    )
    assert changed.status_code == 200 and changed.json()["account"] == "6013***********0001"
    bad = client.put(
        f"/api/v1/benefits/elders/{elder.pk}/bank-account",
        {"bank_name": "", "account_name": "王发放", "account_number": "6013820000000000001"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["details"][0]["field"] == "bank_name"
    assert client.get(f"/api/v1/benefits/elders/{elder.pk}").json()["bank"]["bank_name"] == "中国银行"

    client.force_login(cast.other_district_staff)  # another district: the elder is not there for them
    assert (
        client.post(
            url, {"bank_name": "x", "account_name": "y", "account_number": "6217000011112222333"}
        ).status_code
        == 404
    )
