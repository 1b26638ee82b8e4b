"""The settlement screens (DOMAIN.md §5): statements with the run form, one statement with its lines, 对账
behind a confirmation and the Excel download; the reconciliation report; fraud flags with their evidence
and review; the follow-up calls. Each renders for the roles that work with it and is refused to the
others; scope hides other districts' work, and a district clerk sees of a statement shared with other
districts only their own region's lines, with those lines' totals labelled as theirs."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from yanglao.core.errors import PermissionDenied
from yanglao.core.models import AuditLog
from yanglao.core.testing import HOME_STREET, OTHER_DISTRICT, other_community
from yanglao.orders import geo, services
from yanglao.orders import settlement as st
from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.models import FollowUp, FraudFlag, Order, Settlement, SettlementLine, Visit
from yanglao.orders.tests.conftest import HOME, credit
from yanglao.providers import services as provider_services


def html(response, status=200):
    assert response.status_code == status, (response.status_code, response.content[:800])
    return response.content.decode()


def this_month() -> str:
    return timezone.localdate().strftime("%Y-%m")


def last_month() -> str:
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def nav_labels(client, user):
    client.force_login(user)
    return {str(i["label"]) for i in client.get("/").context["nav_items"]}


@pytest.fixture
def served(order_at):
    """served(status=RATED, **kw): an order walked to a confirmed visit, its automatic flags cleared (the
    fixture's visits are all by one worker at once; the tests that need a flag raise their own)."""

    def make(status=S.RATED, **kwargs):
        order = order_at(status, **kwargs)
        FraudFlag.objects.filter(visit__order=order).update(status="cleared")
        return order

    return make


@pytest.fixture
def elsewhere(make_elder, provider):
    """An elder of 河东区 whom the home provider serves too (it now serves both districts)."""
    provider_services.provider_set_service_areas(
        actor="tests", provider=provider, regions=[HOME_STREET, OTHER_DISTRICT]
    )
    geo.invalidate()
    return make_elder(
        other_community(),
        name="王桂兰",
        male=False,
        latitude=HOME[0],
        longitude=HOME[1],
        address="河东区二号路",
    )


@pytest.fixture
def shared(served, elder, elsewhere):
    """One statement of the home provider with a line of each district: (statement, home order, other)."""
    here = served()
    there = served(elder=elsewhere)
    statement = st.settlement_run(actor="tests", period=this_month())[0]
    assert statement.visit_count == 2
    return statement, here, there


def flag(order: Order, status: str = "open", kind: str = "not_served") -> FraudFlag:
    flagged, _ = FraudFlag.objects.update_or_create(
        visit=order.visit,
        kind=kind,
        defaults={"status": status, "summary": "回访时老人反映未服务", "detected_at": timezone.now()},
    )
    return flagged


def xlsx_rows(response, sheet="服务明细"):
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    content = b"".join(response.streaming_content)
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_name(sheet).to_python()


# --- navigation and access ------------------------------------------------------------------------
def test_the_navigation_offers_each_role_its_settlement_pages(cast, client):
    staff = nav_labels(client, cast.district_staff)
    assert {"服务结算", "结算对账", "服务疑点"} <= staff and "服务回访" not in staff
    provider = nav_labels(client, cast.provider_admin)
    assert {"服务结算", "结算对账", "服务疑点"} <= provider
    for who in ("operator", "community_worker"):
        labels = nav_labels(client, getattr(cast, who))
        assert "服务回访" in labels and "服务结算" not in labels and "服务疑点" not in labels


@pytest.mark.parametrize(
    "who", ["city_admin", "district_staff", "street_staff", "provider_admin", "superuser"]
)
def test_the_settlement_pages_render_for_roles_with_settlement_view(cast, client, served, who):
    order = served()
    statement = st.settlement_run(actor="tests", period=this_month())[0]
    client.force_login(getattr(cast, who))
    page = html(client.get("/orders/settlements/", {"period": this_month()}))
    assert "和平区测试服务中心" in page and f'data-settlement="{statement.pk}"' in page
    page = html(client.get(f"/orders/settlements/{statement.pk}/"))
    assert f"No.{order.pk}" in page and "张建国" in page
    assert xlsx_rows(client.get(f"/orders/settlements/{statement.pk}/statement.xlsx"))[1][3] == "张建国"
    assert "和平区测试服务中心" in html(client.get("/orders/reconciliation/", {"period": this_month()}))
    html(client.get("/orders/flags/"))


@pytest.mark.parametrize(
    "who", ["operator", "community_worker", "care_worker", "auditor", "volunteer", "elder"]
)
def test_the_settlement_pages_are_refused_to_roles_without_settlement_view(cast, client, served, who):
    served()
    statement = st.settlement_run(actor="tests", period=this_month())[0]
    client.force_login(getattr(cast, who))
    for url in (
        "/orders/settlements/",
        f"/orders/settlements/{statement.pk}/",
        f"/orders/settlements/{statement.pk}/close/",
        f"/orders/settlements/{statement.pk}/statement.xlsx",
        "/orders/reconciliation/",
        "/orders/flags/",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post("/orders/settlements/run/", {"period": this_month()}).status_code == 403
    assert client.post(f"/orders/settlements/{statement.pk}/close/", {"confirm": "yes"}).status_code == 403
    assert Settlement.objects.get().status == "open"


@pytest.mark.parametrize("who", ["district_staff", "provider_admin", "care_worker", "auditor"])
def test_the_follow_up_page_is_refused_to_roles_that_do_not_call(cast, client, who):
    client.force_login(getattr(cast, who))
    assert client.get("/orders/follow-ups/").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    for url in (
        "/orders/settlements/",
        "/orders/settlements/1/",
        "/orders/settlements/1/statement.xlsx",
        "/orders/reconciliation/",
        "/orders/flags/",
        "/orders/follow-ups/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url, url


# --- scope ----------------------------------------------------------------------------------------
def test_another_district_sees_nothing_of_this_district(cast, client, served):
    order = served()
    flag(order)
    FollowUp.objects.get_or_create(visit=order.visit, defaults={"sampled_at": timezone.now()})
    statement = st.settlement_run(actor="tests", period=this_month())[0]
    FraudFlag.objects.filter(visit__order=order).update(detected_at=timezone.now())
    client.force_login(cast.other_district_staff)
    page = html(client.get("/orders/settlements/", {"period": this_month()}))
    assert 'data-testid="empty"' in page and "和平区测试服务中心" not in page
    assert client.get(f"/orders/settlements/{statement.pk}/").status_code == 404
    assert client.get(f"/orders/settlements/{statement.pk}/statement.xlsx").status_code == 404
    assert client.post(f"/orders/settlements/{statement.pk}/close/", {"confirm": "yes"}).status_code == 404
    page = html(client.get("/orders/reconciliation/", {"period": this_month()}))
    assert 'data-testid="empty"' in page and "和平区测试服务中心" not in page
    page = html(client.get("/orders/flags/", {"status": ""}))
    assert 'data-testid="empty"' in page and f"No.{order.pk}" not in page
    client.force_login(cast.other_provider_admin)
    assert client.get(f"/orders/settlements/{statement.pk}/").status_code == 404
    assert f"No.{order.pk}" not in html(client.get("/orders/flags/", {"status": ""}))
    client.force_login(cast.other_community_worker)
    page = html(client.get("/orders/follow-ups/"))
    assert 'data-testid="empty"' in page and "张建国" not in page
    assert Settlement.objects.get().status == "open"


def test_a_district_clerk_sees_only_their_regions_lines_of_a_shared_statement(cast, client, shared):
    statement, here, there = shared
    client.force_login(cast.district_staff)
    page = html(client.get(f"/orders/settlements/{statement.pk}/"))
    assert f"No.{here.pk}" in page and "张建国" in page
    assert f"No.{there.pk}" not in page and "王桂兰" not in page
    assert 'data-testid="region-totals"' in page and "其中和平区辖区（您可查看的明细）" in page
    assert "和平区辖区合计（1 次）" in page
    # The list says how much of each statement is the clerk's own region.
    listing = html(client.get("/orders/settlements/", {"period": this_month()}))
    assert "其中和平区辖区" in listing and "1 次 / 85.00 元" in listing

    rows = xlsx_rows(client.get(f"/orders/settlements/{statement.pk}/statement.xlsx"))
    details, total = rows[1:-1], rows[-1]
    assert [r[3] for r in details] == ["张建国"]
    assert total[0] == "本辖区合计" and total[1] == 1 and total[10] == 85
    response = client.get(f"/orders/settlements/{statement.pk}/statement.xlsx")
    summary = dict(tuple(r[:2]) for r in xlsx_rows(response, "结算汇总")[1:])
    assert summary["服务次数"] == 2 and summary["本辖区服务次数"] == 1
    assert summary["本辖区服务金额（元）"] == 85 and "仅含和平区（120101）" in summary["明细范围"]

    client.force_login(cast.other_district_staff)
    page = html(client.get(f"/orders/settlements/{statement.pk}/"))
    assert "王桂兰" in page and f"No.{there.pk}" in page and "张建国" not in page
    assert 'data-testid="close"' not in page  # the provider's own district reconciles it
    rows = xlsx_rows(client.get(f"/orders/settlements/{statement.pk}/statement.xlsx"))
    assert [r[3] for r in rows[1:-1]] == ["王桂兰"] and rows[-1][0] == "本辖区合计"


@pytest.mark.parametrize("who", ["provider_admin", "city_admin"])
def test_the_provider_and_the_city_see_every_line_of_a_shared_statement(cast, client, shared, who):
    statement, here, there = shared
    client.force_login(getattr(cast, who))
    page = html(client.get(f"/orders/settlements/{statement.pk}/"))
    assert f"No.{here.pk}" in page and f"No.{there.pk}" in page
    assert 'data-testid="region-totals"' not in page and "合计（2 次）" in page
    rows = xlsx_rows(client.get(f"/orders/settlements/{statement.pk}/statement.xlsx"))
    assert sorted(r[3] for r in rows[1:-1]) == ["张建国", "王桂兰"] and rows[-1][0] == "合计"


def test_the_lines_selector_and_the_workbook_take_the_region_and_the_actor(cast, shared):
    statement, here, there = shared
    assert [line.visit.order_id for line in st.settlement_lines(statement, actor=cast.district_staff)] == [
        here.pk
    ]
    assert [line.visit.order_id for line in st.settlement_lines(statement, region=OTHER_DISTRICT)] == [
        there.pk
    ]
    assert st.settlement_lines(statement, actor=cast.provider_admin).count() == 2
    assert st.settlement_lines(statement).count() == 2
    with pytest.raises(PermissionDenied):
        st.settlement_lines(statement, actor=cast.district_staff, region=OTHER_DISTRICT)
    _settlement, _lines, totals = st.statement_view(cast.street_staff, statement.pk)
    assert (totals.partial, totals.visits, totals.region) == (True, 1, HOME_STREET)
    book = CalamineWorkbook.from_filelike(io.BytesIO(st.statement_xlsx(statement, region=OTHER_DISTRICT)))
    assert [r[3] for r in book.get_sheet_by_name("服务明细").to_python()[1:-1]] == ["王桂兰"]


# --- statements -----------------------------------------------------------------------------------
def test_the_list_opens_on_last_month_and_filters_by_period_provider_and_status(
    cast, client, served, provider
):
    served()
    statement = st.settlement_run(actor="tests", period=this_month())[0]
    client.force_login(cast.district_staff)
    page = html(client.get("/orders/settlements/"))
    assert f'value="{last_month()}"' in page
    if last_month() != this_month():
        assert 'data-testid="empty"' in page
    assert f'data-settlement="{statement.pk}"' in html(client.get("/orders/settlements/", {"period": ""}))
    page = html(client.get("/orders/settlements/", {"period": this_month(), "provider": provider.pk}))
    assert f'data-settlement="{statement.pk}"' in page
    page = html(client.get("/orders/settlements/", {"period": this_month(), "status": "closed"}))
    assert 'data-testid="empty"' in page
    assert "结算月份“2026-13”无效" in html(client.get("/orders/settlements/", {"period": "2026-13"}))
    assert "结算单状态“lost”无效" in html(client.get("/orders/settlements/", {"status": "lost"}))


def test_the_list_paginates_by_fifty(cast, client, provider):
    Settlement.objects.bulk_create(
        [Settlement(provider=provider, period=f"{2000 + n // 12}-{n % 12 + 1:02d}") for n in range(51)]
    )
    client.force_login(cast.district_staff)
    first = html(client.get("/orders/settlements/", {"period": ""}))
    assert (
        "共 51 张结算单" in first
        and "第 1 / 2 页" in first
        and first.count('data-testid="settlement-row"') == 50
    )
    second = html(client.get("/orders/settlements/", {"period": "", "page": 2}))
    assert second.count('data-testid="settlement-row"') == 1 and "2000-01" in second


def test_settlement_is_run_from_the_page_and_shows_the_runs_figures(cast, client, served, elder, provider):
    credit(elder, "50")
    served()
    flag(served())
    client.force_login(cast.district_staff)
    page = html(client.get("/orders/settlements/"))
    assert 'data-testid="run-form"' in page
    response = client.post("/orders/settlements/run/", {"period": this_month(), "provider": ""}, follow=True)
    page = html(response)
    statement = Settlement.objects.get()
    assert response.redirect_chain[-1][0] == f"/orders/settlements/?period={this_month()}"
    assert 'data-testid="run-result"' in page and f'data-settlement="{statement.pk}"' in page
    assert '<td class="text-end" data-testid="run-added">1</td>' in page
    assert '<td class="text-end" data-testid="run-held">1</td>' in page
    assert "结算完成：1 家机构，本次计入 1 次服务" in page
    assert (statement.visit_count, statement.amount, statement.account_amount) == (
        1,
        Decimal("85.00"),
        Decimal("50.00"),
    )
    # Shown once: the figures are of that run, not of the page.
    assert 'data-testid="run-result"' not in html(
        client.get("/orders/settlements/", {"period": this_month()})
    )
    again = html(client.post("/orders/settlements/run/", {"period": this_month()}, follow=True))
    assert "本次计入 0 次服务" in again and SettlementLine.objects.count() == 1


def test_a_bad_period_is_shown_beside_the_field_and_nothing_is_settled(cast, client, served):
    order = served()
    client.force_login(cast.district_staff)
    page = html(client.post("/orders/settlements/run/", {"period": "2026-13"}), 400)
    assert 'data-testid="error-run-period"' in page and "结算月份“2026-13”无效" in page
    assert 'value="2026-13"' in page
    future = (timezone.localdate().replace(day=28) + timedelta(days=5)).strftime("%Y-%m")
    page = html(client.post("/orders/settlements/run/", {"period": future}), 400)
    assert "尚未到来" in page
    page = html(client.post("/orders/settlements/run/", {"period": this_month(), "provider": "999999"}), 404)
    assert 'data-testid="error-run-provider"' in page
    order.refresh_from_db()
    assert order.status == S.RATED and not Settlement.objects.exists()


def test_a_provider_sees_its_statements_but_does_not_run_or_close_them(cast, client, served):
    served()
    statement = st.settlement_run(actor="tests", period=this_month())[0]
    client.force_login(cast.provider_admin)
    assert 'data-testid="run-form"' not in html(client.get("/orders/settlements/"))
    assert 'data-testid="close"' not in html(client.get(f"/orders/settlements/{statement.pk}/"))
    assert client.post("/orders/settlements/run/", {"period": this_month()}).status_code == 403
    assert client.post(f"/orders/settlements/{statement.pk}/close/", {"confirm": "yes"}).status_code == 403
    assert Settlement.objects.get().status == "open"


def test_a_statement_is_closed_only_after_confirming(cast, client, served):
    served()
    statement = st.settlement_run(actor="tests", period=this_month())[0]
    client.force_login(cast.district_staff)
    page = html(client.get(f"/orders/settlements/{statement.pk}/"))
    assert f'href="/orders/settlements/{statement.pk}/close/"' in page
    page = html(client.get(f"/orders/settlements/{statement.pk}/close/"))
    assert (
        "确认 和平区测试服务中心" in page and "对账不可撤销" in page and 'name="confirm" value="yes"' in page
    )
    # A POST without the confirmation only asks again.
    assert 'data-testid="close-form"' in html(client.post(f"/orders/settlements/{statement.pk}/close/"))
    assert Settlement.objects.get().status == "open"

    page = html(client.post(f"/orders/settlements/{statement.pk}/close/", {"confirm": "yes"}, follow=True))
    statement.refresh_from_db()
    assert statement.status == "closed" and statement.closed_by == cast.district_staff
    assert "结算单已对账" in page and 'data-testid="close"' not in page
    assert AuditLog.objects.filter(action="settlement.close").count() == 1
    page = html(client.post(f"/orders/settlements/{statement.pk}/close/", {"confirm": "yes"}, follow=True))
    assert "该结算单已对账，不能重复对账" in page
    assert AuditLog.objects.filter(action="settlement.close").count() == 1
    assert 'data-testid="already-closed"' in html(client.get(f"/orders/settlements/{statement.pk}/close/"))


def test_the_download_masks_id_numbers_unless_the_role_may_see_them(cast, client, served, elder):
    credit(elder, "100")
    served()
    served()
    statement = st.settlement_run(actor="tests", period=this_month())[0]
    masked = elder.id_number[:6] + "********" + elder.id_number[-4:]
    for who in ("district_staff", "provider_admin"):
        client.force_login(getattr(cast, who))
        response = client.get(f"/orders/settlements/{statement.pk}/statement.xlsx")
        assert "attachment" in response["Content-Disposition"]
        rows = xlsx_rows(response)
        assert [r[4] for r in rows[1:-1]] == [masked, masked] and rows[-1][10:13] == [170, 100, 70]
    assert not AuditLog.objects.filter(action="settlement.export_unmasked").exists()
    client.force_login(cast.city_admin)
    rows = xlsx_rows(client.get(f"/orders/settlements/{statement.pk}/statement.xlsx"))
    assert rows[1][4] == elder.id_number
    assert AuditLog.objects.get(action="settlement.export_unmasked").actor == cast.city_admin


# --- reconciliation -------------------------------------------------------------------------------
def test_reconciliation_shows_rows_totals_and_marks_a_mismatch(cast, client, served, elder, provider):
    from yanglao.benefits.models import LedgerEntry

    credit(elder, "100")
    served()
    served()
    flag(served())
    st.settlement_run(actor="tests", period=this_month())
    client.force_login(cast.district_staff)
    page = html(client.get("/orders/reconciliation/", {"period": this_month()}))
    assert 'data-testid="match"' in page and 'data-testid="mismatch"' not in page and "全部一致" in page
    assert f'data-provider="{provider.pk}"' in page and 'data-testid="reconciliation-total"' in page
    entry = Visit.objects.exclude(ledger_entry_id=None).order_by("pk").first().ledger_entry_id
    LedgerEntry.objects.filter(pk=entry).update(amount=Decimal("-80.00"))
    page = html(client.get("/orders/reconciliation/", {"period": this_month()}))
    assert 'data-testid="mismatch"' in page and 'class="table-danger"' in page
    assert "1 家机构的结算单与服务账户扣款不一致" in page and "95.00" in page
    assert 'data-testid="empty"' in html(client.get("/orders/reconciliation/", {"period": "2001-01"}))
    page = html(client.get("/orders/reconciliation/", {"period": "2026-13"}))
    assert "结算月份“2026-13”无效" in page and 'data-testid="error-period"' in page
    refused = html(client.get("/orders/reconciliation/", {"period": this_month(), "region": "120102"}), 403)
    assert "不在您的管辖范围内" in refused


# --- fraud flags ----------------------------------------------------------------------------------
def test_the_flags_page_shows_the_evidence_the_worker_and_the_hold(cast, client, order_at, provider):
    from yanglao.orders.tests.conftest import FAR

    order = order_at(S.CHECKED_IN, at=FAR)
    client.force_login(cast.district_staff)
    page = html(client.get("/orders/flags/"))
    assert "签到位置距老人住址过远" in page and "签到位置距老人住址 3," in page
    assert "允许范围" in page and "300 米" in page and f"{FAR[0]:.5f}, {FAR[1]:.5f}" in page
    assert f'href="/orders/{order.pk}/"' in page and "刘秀英" in page and "和平区测试服务中心" in page
    assert 'data-testid="held-badge"' in page and 'data-testid="review-form"' in page
    assert 'data-testid="empty"' in html(client.get("/orders/flags/", {"status": "cleared"}))
    assert 'data-testid="empty"' in html(client.get("/orders/flags/", {"kind": "overlap"}))
    assert "核查状态“maybe”无效" in html(client.get("/orders/flags/", {"status": "maybe"}))
    client.force_login(cast.provider_admin)
    page = html(client.get("/orders/flags/"))
    assert f'href="/orders/{order.pk}/"' in page and 'data-testid="review-form"' not in page


def test_a_review_needs_a_note_shown_beside_the_field_and_writes_nothing(cast, client, order_at):
    from yanglao.orders.tests.conftest import FAR

    order = order_at(S.CHECKED_IN, at=FAR)
    flagged = FraudFlag.objects.get(visit__order=order)
    client.force_login(cast.district_staff)
    url = f"/orders/flags/{flagged.pk}/review/"
    page = html(client.post(url, {"decision": "cleared", "note": "  ", "query": "status=open"}), 400)
    assert 'data-testid="error-note"' in page and "请填写核查意见" in page
    assert f'value="cleared" id="decision-{flagged.pk}-cleared" checked' in page
    flagged.refresh_from_db()
    assert flagged.status == "open" and not AuditLog.objects.filter(action="fraud.review").exists()
    page = html(client.post(url, {"note": "已核实"}), 400)
    assert 'data-testid="error-decision"' in page and "请选择核查结论" in page

    response = client.post(url, {"decision": "cleared", "note": "电话核实，服务属实", "query": "status=open"})
    assert response.status_code == 302 and response.url == "/orders/flags/?status=open"
    flagged.refresh_from_db()
    assert flagged.status == "cleared" and flagged.reviewed_by == cast.district_staff
    page = html(client.get("/orders/flags/", {"status": ""}))
    assert "核查无误" in page and "电话核实，服务属实" in page and 'data-testid="held-badge"' not in page
    # Reviewed meanwhile: said above the list, not written again.
    page = html(client.post(url, {"decision": "confirmed", "note": "再次核查"}), 409)
    assert "不能重复核查" in page
    assert AuditLog.objects.filter(action="fraud.review").count() == 1


def test_a_provider_or_another_district_may_not_review(cast, client, order_at):
    from yanglao.orders.tests.conftest import FAR

    order = order_at(S.CHECKED_IN, at=FAR)
    flagged = FraudFlag.objects.get(visit__order=order)
    body = {"decision": "cleared", "note": "无误"}
    client.force_login(cast.provider_admin)
    assert client.post(f"/orders/flags/{flagged.pk}/review/", body).status_code == 403
    client.force_login(cast.other_district_staff)
    assert client.post(f"/orders/flags/{flagged.pk}/review/", body).status_code == 404
    flagged.refresh_from_db()
    assert flagged.status == "open"


def test_a_reused_photo_shows_both_photos_side_by_side(cast, client, order_at, settings):
    from yanglao.orders.tests.test_photos import picture, upload

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    first = order_at(S.CHECKED_OUT)
    Visit.objects.filter(order=first).update(
        check_in_at=timezone.now() - timedelta(hours=5), check_out_at=timezone.now() - timedelta(hours=4)
    )
    services.visit_add_photo(actor=cast.care_worker, order=first, upload=upload(picture(1)))
    second = order_at(S.CHECKED_OUT)
    photo = services.visit_add_photo(
        actor=cast.care_worker, order=second, upload=upload(picture(1, size=(640, 480), quality=50))
    )
    reused = FraudFlag.objects.get(visit__order=second, kind="photo_reused")
    other_photo = reused.evidence["other_photo"]
    client.force_login(cast.district_staff)
    page = html(client.get("/orders/flags/", {"kind": "photo_reused"}))
    assert 'data-testid="photo-pair"' in page
    assert f'src="/orders/{second.pk}/photos/{photo.pk}/"' in page
    assert f'src="/orders/{first.pk}/photos/{other_photo}/"' in page
    assert f'href="/orders/{first.pk}/" data-testid="other-order"' in page
    assert client.get(f"/orders/{first.pk}/photos/{other_photo}/").status_code == 200


def test_the_flags_page_paginates_by_fifty(cast, client, served):
    kinds = ["far_check_in", "short_duration", "overlap", "impossible_travel", "after_death", "in_hospital"]
    orders = [served() for _ in range(9)]
    FraudFlag.objects.all().delete()
    for order in orders:
        for kind in kinds:
            flag(order, kind=kind)
    assert FraudFlag.objects.count() == 54
    client.force_login(cast.district_staff)
    first = html(client.get("/orders/flags/"))
    assert "共 54 个疑点" in first and first.count('data-testid="flag"') == 50 and "第 1 / 2 页" in first
    assert html(client.get("/orders/flags/", {"page": 2})).count('data-testid="flag"') == 4


# --- follow-up calls ------------------------------------------------------------------------------
@pytest.fixture
def sampled(served, elder):
    elder.phone = "13912345678"
    elder.save()
    order = served(S.CONFIRMED)
    FollowUp.objects.get_or_create(visit=order.visit, defaults={"sampled_at": timezone.now()})
    return order


@pytest.mark.parametrize("who", ["operator", "community_worker"])
def test_the_follow_up_page_lists_the_calls_to_make_with_a_masked_phone(cast, client, sampled, who):
    client.force_login(getattr(cast, who))
    page = html(client.get("/orders/follow-ups/"))
    assert "张建国" in page and "139****5678" in page and "13912345678" not in page
    assert "助浴" in page and "刘秀英" in page and f'data-order="{sampled.pk}"' in page
    assert 'data-testid="reveal"' in page  # both roles may see the full number, through the registry
    elder = sampled.elder
    revealed = html(client.post(f"/registry/elders/{elder.pk}/reveal/"))
    assert "13912345678" in revealed


def test_a_follow_up_is_recorded_from_the_page(cast, client, sampled):
    client.force_login(cast.operator)
    url = f"/orders/follow-ups/{sampled.pk}/"
    page = html(client.post(url, {"outcome": "", "note": "接通"}), 400)
    assert 'data-testid="error-outcome"' in page and "请选择回访结果" in page and 'value="接通"' in page
    assert FollowUp.objects.get().outcome == "pending"
    page = html(client.post(url, {"outcome": "satisfied", "note": "老人很满意"}, follow=True))
    follow_up = FollowUp.objects.get()
    assert (follow_up.outcome, follow_up.note, follow_up.called_by) == (
        "satisfied",
        "老人很满意",
        cast.operator,
    )
    assert "回访结果已记录：满意" in page and 'data-testid="empty"' in page
    page = html(client.post(url, {"outcome": "satisfied"}), 409)
    assert "该工单已回访" in page


def test_nobody_came_on_the_call_opens_a_flag_that_holds_the_visit(cast, client, sampled):
    client.force_login(cast.community_worker)
    client.post(f"/orders/follow-ups/{sampled.pk}/", {"outcome": "not_served", "note": "老人说没人来"})
    flagged = FraudFlag.objects.get(visit__order=sampled, kind="not_served")
    assert flagged.status == "open"
    client.force_login(cast.district_staff)
    page = html(client.get("/orders/flags/"))
    assert "回访时老人反映未接受本次服务：老人说没人来" in page and 'data-testid="held-badge"' in page


def test_inspectors_find_the_flags_page_in_their_menu_and_read_it(cast, client):
    client.force_login(cast.inspector)
    page = client.get("/orders/flags/")
    assert page.status_code == 200
    assert "服务疑点" in client.get("/").content.decode()
    client.force_login(cast.provider_admin)
    assert "服务工单" in client.get("/orders/queue/").content.decode()
