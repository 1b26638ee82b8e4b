"""The benefits screens without a browser: programmes and loading the shipped packs, the run form (a
background task, inline in tests) and the runs list, a period's figures, differences and entitlements
(filters, search, empty states, scope), review and approval, the payment files, and the what-if."""

import csv
import io
from datetime import date
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from python_calamine import CalamineWorkbook

from yanglao.benefits import services, views
from yanglao.benefits.models import BenefitRun, Entitlement, Programme
from yanglao.benefits.tests.conftest import PACK
from yanglao.benefits.tests.test_benefits_run import NOVEMBER, setup_city
from yanglao.core.models import AuditLog, JobProgress
from yanglao.registry import services as registry_services

OCTOBER = date(2026, 10, 1)
PROGRAMMES = reverse("benefits:programmes")
LOAD = reverse("benefits:load")
RUNS = reverse("benefits:runs")
WHATIF = reverse("benefits:whatif")
PERIOD = reverse("benefits:period", kwargs={"period": "2026-11"})


def page_of(response) -> str:
    return response.content.decode()


@pytest.fixture
def city(make_elder, pack_file):
    return setup_city(make_elder, pack_file)


@pytest.fixture
def two_months(city, make_elder):
    """October, then a change of income, a newcomer and a death, then November."""
    services.benefits_run(actor="tests", period=OCTOBER)
    registry_services.elder_update(actor="tests", elder=city["低收入70"], economic_status="subsistence")
    city["新增庚"] = make_elder(born=date(1940, 3, 1), economic_status="low_income", name="新增庚")
    registry_services.elder_record_event(
        actor="tests", elder=city["一般92"], kind="death", on=date(2026, 10, 20)
    )
    services.benefits_run(actor="tests", period=NOVEMBER)
    return city


@pytest.fixture
def approved(cast, city):
    services.bank_account_set(
        actor=cast.community_worker,
        elder=city["一般92"],
        bank_name="天津银行和平支行",
        account_name="一般丙",
        account_number="6222 0012 3456 7890 123",
    )
    services.benefits_run(actor="tests", period=NOVEMBER)
    services.entitlements_review(actor="tests", period=NOVEMBER, district="120101")
    services.entitlements_approve(actor="tests", period=NOVEMBER)
    return city


# -- navigation and programmes ----------------------------------------------------------------------------


def test_the_navigation_offers_benefits_to_reviewers_only(cast, client):
    client.force_login(cast.district_staff)
    labels = [str(item["label"]) for item in client.get(PROGRAMMES).context["nav_items"]]
    assert "补贴津贴" in labels
    client.force_login(cast.community_worker)
    labels = [str(item["label"]) for item in client.get("/").context["nav_items"]]
    assert "补贴津贴" not in labels


def test_programmes_page_empty_then_lists_current_versions_with_assumptions(cast, client, pack_file):
    client.force_login(cast.city_admin)
    empty = page_of(client.get(PROGRAMMES))
    assert 'data-testid="empty"' in empty and "尚未加载任何补贴项目" in empty
    assert 'data-testid="load-form"' in empty and reverse("benefits:docs") in empty
    services.policies_load(actor="tests", path=pack_file())
    page = page_of(client.get(PROGRAMMES))
    for text in (
        "testcity.hardship",
        "困难老年人补贴",
        "高龄津贴",
        "发放至银行账户",
        "计入服务账户",
        "按月",
        "和平区",
    ):
        assert text in page
    assert page.count('data-testid="assumed"') == 1 and "待确认：amount" in page  # testcity.care
    assert '<tr class="table-warning" data-code="testcity.care">' in page
    client.force_login(cast.district_staff)
    staff = page_of(client.get(PROGRAMMES))
    assert "困难老年人补贴" in staff and 'data-testid="load-form"' not in staff


@pytest.mark.parametrize("role", ["community_worker", "provider_admin", "elder", "auditor"])
def test_the_pages_refuse_roles_without_benefits_permissions(cast, client, role):
    client.force_login(cast.users[role])
    for url in (PROGRAMMES, RUNS, PERIOD, WHATIF, reverse("benefits:docs")):
        assert client.get(url).status_code == 403, url


def test_the_policy_docs_render_for_reviewers(cast, client):
    client.force_login(cast.district_staff)
    page = page_of(client.get(reverse("benefits:docs")))
    assert "Policy packs" in page and 'data-testid="policy-docs-text"' in page


def test_loading_the_shipped_packs_shows_the_result(cast, client):
    client.force_login(cast.city_admin)
    done = client.post(LOAD, {"jurisdiction": "1201"}, follow=True)
    page = page_of(done)
    assert done.redirect_chain[-1][0] == PROGRAMMES and "政策包已加载：新增" in page
    assert Programme.objects.filter(is_current=True).exists()
    assert set(Programme.objects.values_list("jurisdiction", flat=True)) == {"1201"}
    again = page_of(client.post(LOAD, {"jurisdiction": "1201"}, follow=True))
    assert "新增 0 个，更新 0 个" in again


def test_loading_refuses_others_and_explains_bad_input(cast, client, tmp_path, monkeypatch):
    client.force_login(cast.district_staff)
    assert client.post(LOAD, {}).status_code == 403
    client.force_login(cast.city_admin)
    bad = client.post(LOAD, {"jurisdiction": "12x"})
    assert bad.status_code == 400 and 'data-testid="jurisdiction-error"' in page_of(bad)
    assert "只能由数字组成" in page_of(bad)
    broken = tmp_path / "policies"
    broken.mkdir()
    (broken / "city.yaml").write_text(PACK.replace("version: 1", "version: zero", 1), encoding="utf-8")
    monkeypatch.setattr(views, "POLICIES_DIR", broken)
    refused = client.post(LOAD, {})
    assert refused.status_code == 400 and 'data-testid="pack-error"' in page_of(refused)
    assert "city.yaml" in page_of(refused) and "testcity.hardship" in page_of(refused)
    assert not Programme.objects.exists()


# -- runs ---------------------------------------------------------------------------------------------------


def test_the_run_form_runs_in_the_background_and_shows_totals(cast, client, city):
    client.force_login(cast.city_admin)
    form = page_of(client.get(RUNS))
    assert 'data-testid="run-form"' in form and 'data-testid="empty"' in form
    done = client.post(RUNS, {"period": "2026-11", "programme": "", "region": ""}, follow=True)
    page = page_of(done)
    job_id = done.redirect_chain[-1][0].split("job=")[1]
    job = JobProgress.objects.get(job_id=job_id)
    assert job.state == JobProgress.State.DONE and job.owner == cast.city_admin
    assert "高龄津贴 2 人 600.00 元" in job.message and job.message in page
    run = BenefitRun.objects.get()
    assert run.state == BenefitRun.State.DONE and run.started_by == cast.city_admin
    assert 'data-testid="run-table"' in page and "高龄津贴：2 人，600.00 元" in page
    assert 'data-testid="run-amount">1,500.00<' in page  # 500 + 600 + 400
    assert reverse("benefits:period", kwargs={"period": "2026-11"}) in page
    fragment = page_of(client.get(reverse("benefits:run_job", args=[job_id])))
    assert "progress-bar" in fragment and "已完成" in fragment
    one = client.post(
        RUNS, {"period": "2026-11", "programme": "testcity.care", "region": "120101"}, follow=True
    )
    assert "失能护理补贴：1 人，400.00 元" in page_of(one)


def test_the_run_form_explains_bad_input_beside_the_fields(cast, client, city):
    client.force_login(cast.city_admin)
    bad = client.post(RUNS, {"period": "2026-13", "programme": "nope.nothing", "region": ""})
    assert bad.status_code == 400 and 'data-testid="period-error"' in page_of(bad)
    assert "期间“2026-13”无效" in page_of(bad)
    unknown = client.post(RUNS, {"period": "2026-11", "programme": "nope.nothing"})
    assert 'data-testid="programme-error"' in page_of(unknown) and "nope.nothing" in page_of(unknown)
    region = client.post(RUNS, {"period": "2026-11", "region": "12a"})
    assert 'data-testid="region-error"' in page_of(region)
    assert not BenefitRun.objects.exists() and not JobProgress.objects.exists()


def test_district_staff_see_runs_but_may_not_start_one(cast, client, city):
    services.benefits_run(actor="tests", period=NOVEMBER)
    client.force_login(cast.district_staff)
    page = page_of(client.get(RUNS))
    assert 'data-testid="run-form"' not in page and 'data-testid="run-table"' in page
    assert "600.00" not in page  # city-wide money is for the city
    assert client.post(RUNS, {"period": "2026-11"}).status_code == 403
    assert BenefitRun.objects.count() == 1
    assert client.get(reverse("benefits:run_job", args=["x"])).status_code == 403


def test_someone_elses_job_is_not_shown(cast, client, city):
    client.force_login(cast.city_admin)
    done = client.post(RUNS, {"period": "2026-11"}, follow=True)
    job_id = done.redirect_chain[-1][0].split("job=")[1]
    client.force_login(cast.superuser)
    assert client.get(reverse("benefits:run_job", args=[job_id])).status_code == 200
    queued = page_of(client.get(reverse("benefits:run_job", args=["not-started-yet"])))
    assert "排队中" in queued and "hx-trigger" in queued


def test_the_period_box_opens_a_period(cast, client):
    client.force_login(cast.district_staff)
    response = client.get(reverse("benefits:period_go"), {"period": "2026-11"})
    assert response.status_code == 302 and response["Location"] == PERIOD
    bad = client.get(reverse("benefits:period_go"), {"period": "November"}, follow=True)
    assert "期间“November”无效" in page_of(bad)


# -- a period -----------------------------------------------------------------------------------------------


def test_the_period_shows_figures_and_differences_from_the_month_before(cast, client, two_months):
    client.force_login(cast.city_admin)
    response = client.get(PERIOD)
    page = page_of(response)
    summary = {row["programme_code"]: row for row in response.context["summary"]}
    assert (summary["testcity.hardship"]["heads"], summary["testcity.hardship"]["amount"]) == (
        3,
        Decimal(800),
    )
    assert (summary["testcity.senior"]["heads"], summary["testcity.senior"]["amount"]) == (2, Decimal(200))
    assert "testcity.care" not in summary  # the only beneficiary died in October
    found = {d["code"]: d["found"] for d in response.context["differences"]}
    assert (found["testcity.hardship"].new, found["testcity.hardship"].stopped) == (1, 0)
    assert found["testcity.hardship"].changed == 1
    assert (found["testcity.senior"].new, found["testcity.senior"].stopped) == (1, 1)
    assert (found["testcity.care"].new, found["testcity.care"].stopped) == (0, 1)
    assert 'data-testid="differences"' in page and "<details>" in page
    assert "200.00 → 300.00" in page and "困难老年人补贴（v1）：低收入 → 困难老年人补贴（v1）：低保" in page
    assert 'data-testid="total-amount">1,000.00<' in page
    assert "共 5 条" in page and "新增庚" in page and "一般丙" not in page.split("entitlement-table")[1]


def test_the_entitlements_filter_search_and_say_when_nothing_matches(cast, client, two_months):
    client.force_login(cast.district_staff)
    assert "共 3 条" in page_of(client.get(PERIOD, {"programme": "testcity.hardship"}))
    assert "共 5 条" in page_of(client.get(PERIOD, {"state": "draft", "region": ["120101", "120101001"]}))
    assert "共 0 条" in page_of(client.get(PERIOD, {"state": "approved"}))
    newcomer = two_months["新增庚"].pk
    found = page_of(client.get(PERIOD, {"q": str(newcomer)}))
    assert "共 2 条" in found and f'data-beneficiary="{newcomer}"' in found
    nothing = page_of(client.get(PERIOD, {"q": "999999999", "programme": "testcity.senior"}))
    assert 'data-testid="empty"' in nothing and "没有符合条件的补贴明细" in nothing
    bad = page_of(client.get(PERIOD, {"q": "张三", "state": "lost"}))
    assert 'data-testid="q-error"' in bad and 'data-testid="state-error"' in bad and "共 0 条" in bad
    partial = page_of(client.get(PERIOD, {"q": "张三"}, HTTP_HX_REQUEST="true"))
    assert "<html" not in partial and 'data-testid="filter-error"' in partial


def test_the_period_is_scoped_and_an_empty_period_says_so(cast, client, two_months):
    client.force_login(cast.other_district_staff)
    page = page_of(client.get(PERIOD))
    assert 'data-testid="period-empty"' in page and "共 0 条" in page
    assert 'data-testid="review-form"' not in page and "新增庚" not in page
    client.force_login(cast.city_admin)
    empty = page_of(client.get(reverse("benefits:period", kwargs={"period": "2025-01"})))
    assert 'data-testid="period-empty"' in empty and 'data-testid="empty"' in empty
    assert client.get("/benefits/periods/2026-13/").status_code == 404


# -- review and approval ------------------------------------------------------------------------------------


def test_review_then_approve_through_the_page(cast, client, two_months):
    client.force_login(cast.district_staff)
    page = page_of(client.get(PERIOD))
    assert 'data-testid="review-form"' in page and "confirm(" in page and "审核和平区的 5 条明细" in page
    assert 'data-testid="approve-form"' not in page
    assert client.post(reverse("benefits:approve", kwargs={"period": "2026-11"})).status_code == 403
    done = client.post(
        reverse("benefits:review", kwargs={"period": "2026-11"}), {"district": "120101"}, follow=True
    )
    assert "已审核 120101 2026-11 的 5 条补贴明细" in page_of(done)
    assert set(Entitlement.objects.filter(period=NOVEMBER).values_list("state", flat=True)) == {"reviewed"}
    again = client.post(reverse("benefits:review", kwargs={"period": "2026-11"}), {}, follow=True)
    assert "没有待审核的补贴明细" in page_of(again)
    client.force_login(cast.city_admin)
    city_page = page_of(client.get(PERIOD))
    assert 'data-testid="approve-form"' in city_page and "confirm(" in city_page
    assert reverse("registry:import") + "?kind=bank_results" in city_page
    approved = client.post(reverse("benefits:approve", kwargs={"period": "2026-11"}), follow=True)
    assert "?job=" in approved.redirect_chain[-1][0]  # queued as a background task, then shown in progress
    assert 'data-testid="approve-progress"' in page_of(approved)
    assert "已审批 2026-11 的 5 条补贴明细，计入服务账户 3 条" in page_of(approved)
    assert set(Entitlement.objects.filter(period=NOVEMBER).values_list("state", flat=True)) == {"approved"}


def test_review_and_approval_refuse_the_wrong_roles_and_explain_conflicts(cast, client, two_months):
    review = reverse("benefits:review", kwargs={"period": "2026-11"})
    approve = reverse("benefits:approve", kwargs={"period": "2026-11"})
    client.force_login(cast.other_district_staff)
    assert client.post(review, {"district": "120101"}).status_code == 403
    client.force_login(cast.community_worker)
    assert client.post(review, {"district": "120101"}).status_code == 403
    assert client.post(approve).status_code == 403
    client.force_login(cast.district_staff)
    assert client.get(review).status_code == 405
    client.force_login(cast.city_admin)
    page = page_of(client.get(PERIOD))
    assert 'data-testid="waiting"' in page and "和平区" in page.split('data-testid="waiting"')[1]
    early = client.post(approve, follow=True)
    assert "以下区县尚未审核：120101" in page_of(early)
    assert set(Entitlement.objects.filter(period=NOVEMBER).values_list("state", flat=True)) == {"draft"}


# -- payment files ------------------------------------------------------------------------------------------


def test_the_roster_downloads_for_the_district(cast, client, approved):
    url = reverse("benefits:roster", kwargs={"period": "2026-11", "district": "120101"})
    client.force_login(cast.district_staff)
    page = page_of(client.get(PERIOD))
    assert url in page and 'data-testid="bank-link"' not in page
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment") and quote("补贴发放花名册_和平区_2026-11.xlsx") in disposition
    content = b"".join(response.streaming_content)
    rows = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_name("发放花名册").to_python()
    assert len(rows) == 3 and rows[0][1] == "明细编号"
    client.force_login(cast.other_district_staff)
    assert client.get(url).status_code == 403
    client.force_login(cast.community_worker)
    assert client.get(url).status_code == 403


def test_the_bank_file_is_for_approvers_and_audited(cast, client, approved):
    url = reverse("benefits:bank", kwargs={"period": "2026-11", "district": "120101"})
    client.force_login(cast.district_staff)
    assert client.post(url).status_code == 403
    client.force_login(cast.city_admin)
    assert 'data-testid="bank-link"' in page_of(client.get(PERIOD))
    assert client.get(url).status_code == 405  # never a link a browser could prefetch
    response = client.post(url)
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert quote("银行发放文件_和平区_2026-11.csv") in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert text.startswith("\ufeff") and rows[0][:4] == ["明细编号", "户名", "开户行", "账号"]
    assert rows[1][3] == "6222001234567890123"
    assert AuditLog.objects.filter(action="benefits.bank_file").count() == 1


# -- what-if ------------------------------------------------------------------------------------------------

DRAFT = (
    PACK.replace("version: 1\n    name: 困难老年人补贴", "version: 2\n    name: 困难老年人补贴")
    .replace("amount: 300, label: 低保", "amount: 400, label: 低保")
    .replace("amount: 200, label: 低收入", "amount: 300, label: 低收入")
)


def upload(text: str, name: str = "draft.yaml") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="application/x-yaml")


def test_whatif_shows_heads_and_cost_beside_the_current_programme_and_writes_nothing(cast, client, city):
    counts = (Programme.objects.count(), Entitlement.objects.count(), AuditLog.objects.count())
    client.force_login(cast.city_admin)
    assert 'data-testid="whatif-form"' in page_of(client.get(WHATIF))
    response = client.post(WHATIF, {"period": "2026-11", "policy": upload(DRAFT)})
    page = page_of(response)
    assert response.status_code == 200
    by_code = {r["item"].code: r for r in response.context["results"]}
    hardship = by_code["testcity.hardship"]
    assert (hardship["item"].heads, hardship["item"].cost) == (2, Decimal(700))
    assert (hardship["replaces"]["heads"], hardship["replaces"]["cost"]) == (2, Decimal(500))
    assert hardship["cost_change"] == Decimal(200)
    assert hardship["districts"][0]["code"] == "120101" and hardship["districts"][0]["name"] == "和平区"
    assert (
        'data-testid="whatif-table"' in page and "700.00" in page and "+200.00" in page and "和平区" in page
    )
    assert (Programme.objects.count(), Entitlement.objects.count(), AuditLog.objects.count()) == counts
    assert Programme.objects.get(code="testcity.hardship", is_current=True).version == 1


def test_whatif_refuses_others_and_explains_a_bad_file(cast, client, city):
    client.force_login(cast.district_staff)
    assert client.get(WHATIF).status_code == 403
    assert client.post(WHATIF, {"period": "2026-11", "policy": upload(DRAFT)}).status_code == 403
    client.force_login(cast.city_admin)
    broken = client.post(WHATIF, {"period": "2026-11", "policy": upload("pack: 1\n")})
    assert broken.status_code == 400 and 'data-testid="policy-error"' in page_of(broken)
    assert "draft.yaml" in page_of(broken)
    wrong = client.post(WHATIF, {"period": "2026-11", "policy": upload(DRAFT, "draft.xlsx")})
    assert "只能上传 YAML 政策包文件" in page_of(wrong)
    binary = SimpleUploadedFile("draft.yaml", "规则".encode("gbk"))
    assert "UTF-8" in page_of(client.post(WHATIF, {"period": "2026-11", "policy": binary}))
    missing = client.post(WHATIF, {"period": "2026-11"})
    assert "请选择政策包文件" in page_of(missing)
    period = client.post(WHATIF, {"period": "11/2026", "policy": upload(DRAFT)})
    assert 'data-testid="period-error"' in page_of(period)
