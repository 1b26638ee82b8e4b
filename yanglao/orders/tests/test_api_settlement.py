"""The settlement API end to end: statements listed, run, read with the lines the caller may see, closed
once, downloaded; reconciliation; fraud flags and their review; the follow-up calls waiting. Every answer
scoped, every error named in the project's error shape."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from yanglao.core.models import AuditLog
from yanglao.core.testing import HOME_STREET, OTHER_DISTRICT, other_community
from yanglao.orders import geo
from yanglao.orders import settlement as st
from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.models import FollowUp, FraudFlag, Settlement
from yanglao.orders.tests.conftest import FAR, HOME, credit
from yanglao.providers import services as provider_services

API = "/api/v1"


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def this_month() -> str:
    return timezone.localdate().strftime("%Y-%m")


@pytest.fixture
def served(order_at):
    """served(status=RATED, **kw): an order walked to a confirmed visit, its automatic flags cleared."""

    def make(status=S.RATED, **kwargs):
        order = order_at(status, **kwargs)
        FraudFlag.objects.filter(visit__order=order).update(status="cleared")
        return order

    return make


@pytest.fixture
def shared(served, make_elder, provider):
    """A statement of the home provider with one line in 和平区 and one in 河东区."""
    provider_services.provider_set_service_areas(
        actor="tests", provider=provider, regions=[HOME_STREET, OTHER_DISTRICT]
    )
    geo.invalidate()
    there_elder = make_elder(
        other_community(), name="王桂兰", male=False, latitude=HOME[0], longitude=HOME[1]
    )
    here = served()
    there = served(elder=there_elder)
    statement = st.settlement_run(actor="tests", period=this_month())[0]
    return statement, here, there


# --- statements -----------------------------------------------------------------------------------
def test_settlement_is_run_listed_and_filtered(cast, client, served, elder, provider):
    credit(elder, "50")
    served()
    FraudFlag.objects.create(
        visit=served().visit, kind="not_served", summary="未服务", detected_at=timezone.now()
    )
    client.force_login(cast.district_staff)
    run = post(client, f"{API}/settlements/run", {"period": this_month()})
    assert run.status_code == 200, run.content
    [statement] = run.json()
    assert (statement["provider_id"], statement["added"], statement["held"], statement["waiting"]) == (
        provider.pk,
        1,
        1,
        0,
    )
    assert (statement["amount"], statement["account_amount"], statement["self_amount"]) == (
        "85.00",
        "50.00",
        "35.00",
    )
    assert statement["status"] == "open" and statement["status_label"] == "结算中"
    again = post(client, f"{API}/settlements/run", {"period": this_month(), "provider_id": provider.pk})
    assert again.json()[0]["added"] == 0 and again.json()[0]["held"] == 1

    listed = client.get(f"{API}/settlements", {"period": this_month()}).json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == statement["id"]
    assert listed["items"][0]["provider_name"] == "和平区测试服务中心"
    assert client.get(f"{API}/settlements", {"status": "closed"}).json()["count"] == 0
    assert client.get(f"{API}/settlements", {"provider": provider.pk + 1000}).json()["count"] == 0


def test_a_bad_period_or_status_is_400_naming_the_field(cast, client, served):
    served()
    client.force_login(cast.district_staff)
    for url, body in (
        (f"{API}/settlements/run", {"period": "2026-13"}),
        (f"{API}/settlements/run", {"period": "next month"}),
    ):
        refused = post(client, url, body)
        assert refused.status_code == 400 and refused.json()["details"][0]["field"] == "period", (
            refused.content
        )
    refused = client.get(f"{API}/settlements", {"period": "2026/11"})
    assert refused.status_code == 400 and refused.json()["code"] == "invalid"
    refused = client.get(f"{API}/settlements", {"status": "lost"})
    assert refused.status_code == 400 and refused.json()["details"][0]["field"] == "status"
    assert client.get(f"{API}/reconciliation", {"period": "2026-00"}).status_code == 400
    assert not Settlement.objects.exists()


def test_who_may_not_run_or_read_is_refused(cast, client, served):
    served()
    for who in ("provider_admin", "operator", "community_worker"):
        client.force_login(getattr(cast, who))
        assert post(client, f"{API}/settlements/run", {"period": this_month()}).status_code == 403, who
    client.force_login(cast.operator)
    assert client.get(f"{API}/settlements").status_code == 403
    assert not Settlement.objects.exists()


def test_the_list_paginates_by_fifty(cast, client, provider):
    Settlement.objects.bulk_create(
        [Settlement(provider=provider, period=f"{2000 + n // 12}-{n % 12 + 1:02d}") for n in range(51)]
    )
    client.force_login(cast.district_staff)
    first = client.get(f"{API}/settlements").json()
    assert first["count"] == 51 and len(first["items"]) == 50
    second = client.get(f"{API}/settlements", {"page": 2}).json()
    assert [s["period"] for s in second["items"]] == ["2000-01"]


def test_a_statement_shows_the_callers_lines_with_their_totals(cast, client, shared):
    statement, here, there = shared
    client.force_login(cast.district_staff)
    body = client.get(f"{API}/settlements/{statement.pk}").json()
    assert body["visit_count"] == 2 and body["amount"] == "170.00"
    assert [line["order_id"] for line in body["lines"]] == [here.pk]
    assert body["lines"][0]["id_number"].count("*") == 8 and body["lines"][0]["elder_name"] == "张建国"
    visible = body["visible"]
    assert (visible["partial"], visible["visits"], visible["amount"], visible["region"]) == (
        True,
        1,
        "85.00",
        "120101",
    )
    client.force_login(cast.other_district_staff)
    assert [
        line["elder_name"] for line in client.get(f"{API}/settlements/{statement.pk}").json()["lines"]
    ] == ["王桂兰"]
    client.force_login(cast.provider_admin)
    body = client.get(f"{API}/settlements/{statement.pk}").json()
    assert len(body["lines"]) == 2 and body["visible"]["partial"] is False
    client.force_login(cast.other_provider_admin)
    assert client.get(f"{API}/settlements/{statement.pk}").status_code == 404


def test_closing_twice_is_409(cast, client, served):
    served()
    statement = st.settlement_run(actor="tests", period=this_month())[0]
    client.force_login(cast.district_staff)
    closed = post(client, f"{API}/settlements/{statement.pk}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["closed_by"] == "district_staff"
    again = post(client, f"{API}/settlements/{statement.pk}/close")
    assert again.status_code == 409 and again.json()["code"] == "already_closed"
    assert AuditLog.objects.filter(action="settlement.close").count() == 1
    client.force_login(cast.other_district_staff)
    assert post(client, f"{API}/settlements/{statement.pk}/close").status_code == 404


def test_the_statement_download_is_masked_and_scoped(cast, client, shared):
    statement, here, there = shared
    client.force_login(cast.district_staff)
    response = client.get(f"{API}/settlements/{statement.pk}/statement.xlsx")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    book = CalamineWorkbook.from_filelike(io.BytesIO(b"".join(response.streaming_content)))
    rows = book.get_sheet_by_name("服务明细").to_python()
    assert [r[3] for r in rows[1:-1]] == ["张建国"] and "********" in rows[1][4]
    assert rows[-1][0] == "本辖区合计"
    client.force_login(cast.city_admin)
    response = client.get(f"{API}/settlements/{statement.pk}/statement.xlsx")
    rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(b"".join(response.streaming_content)))
        .get_sheet_by_name("服务明细")
        .to_python()
    )
    assert len(rows) == 4 and "*" not in rows[1][4]
    assert AuditLog.objects.filter(action="settlement.export_unmasked").count() == 1


# --- reconciliation -------------------------------------------------------------------------------
def test_reconciliation_rows_are_scoped(cast, client, served, elder, provider):
    credit(elder, "100")
    served()
    st.settlement_run(actor="tests", period=this_month())
    client.force_login(cast.district_staff)
    [row] = client.get(f"{API}/reconciliation", {"period": this_month()}).json()
    assert row["provider_id"] == provider.pk and row["matches"] is True
    assert (row["account_amount"], row["ledger_debits"], row["settled"]) == ("85.00", "85.00", 1)
    assert (
        client.get(f"{API}/reconciliation", {"period": this_month(), "region": "120102"}).status_code == 403
    )
    client.force_login(cast.other_district_staff)
    assert client.get(f"{API}/reconciliation", {"period": this_month()}).json() == []


# --- fraud flags ----------------------------------------------------------------------------------
def test_flags_are_listed_and_reviewed_once(cast, client, order_at):
    order = order_at(S.CHECKED_IN, at=FAR)
    flag = FraudFlag.objects.get(visit__order=order)
    client.force_login(cast.district_staff)
    listed = client.get(f"{API}/flags", {"status": "open"}).json()
    assert listed["count"] == 1
    item = listed["items"][0]
    assert (item["id"], item["order_id"], item["kind"], item["held"]) == (
        flag.pk,
        order.pk,
        "far_check_in",
        True,
    )
    assert item["worker_name"] == "刘秀英" and item["kind_label"] == "签到位置距老人住址过远"
    assert item["evidence"]["policy"] == {"orders.geofence_m": 300}
    assert client.get(f"{API}/flags", {"kind": "nonsense"}).status_code == 400

    url = f"{API}/flags/{flag.pk}/review"
    missing = post(client, url, {"decision": "cleared", "note": ""})
    assert missing.status_code == 400 and missing.json()["details"][0]["field"] == "note"
    flag.refresh_from_db()
    assert flag.status == "open"
    done = post(client, url, {"decision": "confirmed", "note": "护理员承认未到场"})
    assert done.status_code == 200 and done.json()["status"] == "confirmed"
    assert done.json()["reviewed_by"] == "district_staff" and done.json()["held"] is True
    again = post(client, url, {"decision": "cleared", "note": "改判"})
    assert again.status_code == 409 and "不能重复核查" in again.json()["message"]

    client.force_login(cast.provider_admin)
    assert client.get(f"{API}/flags").json()["count"] == 1
    client.force_login(cast.other_district_staff)
    assert client.get(f"{API}/flags").json()["count"] == 0
    assert post(client, url, {"decision": "cleared", "note": "x"}).status_code == 404


def test_the_flag_list_paginates_by_fifty(cast, client, served):
    kinds = ["far_check_in", "short_duration", "overlap", "impossible_travel", "after_death", "in_hospital"]
    orders = [served() for _ in range(9)]
    FraudFlag.objects.all().delete()
    FraudFlag.objects.bulk_create(
        [
            FraudFlag(visit=o.visit, kind=k, summary=k, detected_at=timezone.now() - timedelta(minutes=n))
            for n, (o, k) in enumerate((o, k) for o in orders for k in kinds)
        ]
    )
    client.force_login(cast.district_staff)
    assert len(client.get(f"{API}/flags").json()["items"]) == 50
    assert len(client.get(f"{API}/flags", {"page": 2}).json()["items"]) == 4


# --- follow-up calls ------------------------------------------------------------------------------
def test_follow_ups_due_are_listed_with_a_masked_phone(cast, client, served, elder):
    elder.phone = "13912345678"
    elder.save()
    order = served(S.CONFIRMED)
    FollowUp.objects.get_or_create(visit=order.visit, defaults={"sampled_at": timezone.now()})
    client.force_login(cast.operator)
    body = client.get(f"{API}/follow-ups").json()
    assert body["count"] == 1
    assert body["items"][0]["order_id"] == order.pk and body["items"][0]["phone"] == "139****5678"
    client.force_login(cast.other_community_worker)
    assert client.get(f"{API}/follow-ups").json()["count"] == 0
    client.force_login(cast.district_staff)
    assert client.get(f"{API}/follow-ups").status_code == 403
