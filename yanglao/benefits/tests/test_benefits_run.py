"""The monthly run: who gets what and why, in one set-based pass per programme; idempotent, resumable,
never paying twice."""

import io
import json
from datetime import date
from decimal import Decimal

from django.core.management import call_command

from yanglao.assessments.enums import Status as AssessmentStatus
from yanglao.assessments.models import Assessment
from yanglao.benefits import services
from yanglao.benefits.models import BenefitRun, Entitlement
from yanglao.registry import services as registry_services

NOVEMBER = date(2026, 11, 1)


def setup_city(make_elder, pack_file):
    services.policies_load(actor="tests", path=pack_file())
    people = {
        "低保85": make_elder(born=date(1941, 5, 1), economic_status="subsistence", name="低保甲"),
        "低收入70": make_elder(born=date(1956, 5, 1), economic_status="low_income", name="低收入乙"),
        "一般92": make_elder(born=date(1934, 5, 1), name="一般丙"),
        "一般65": make_elder(born=date(1961, 5, 1), name="一般丁"),
        "已故低保": make_elder(born=date(1940, 1, 1), economic_status="subsistence", name="已故戊"),
        "外区低保": make_elder(
            "120102001001", born=date(1940, 1, 1), economic_status="subsistence", name="外区己"
        ),
    }
    registry_services.elder_record_event(
        actor="tests", elder=people["已故低保"], kind="death", on=date(2026, 10, 3)
    )
    Assessment.objects.create(
        elder=people["一般92"],
        kind="first",
        status=AssessmentStatus.EFFECTIVE,
        final_level="severe",
        level_label="重度失能",
        total=40,
        valid_from=date(2026, 1, 1),
        valid_until=date(2026, 12, 31),
    )
    return people


def owed(people):
    names = {e.pk: n for n, e in people.items()}
    return {
        (names[e.beneficiary_id], e.programme_code, e.amount, e.reason)
        for e in Entitlement.objects.filter(period=NOVEMBER)
    }


def test_who_gets_what_and_why(db, make_elder, pack_file):
    people = setup_city(make_elder, pack_file)
    run = services.benefits_run(actor="tests", period=date(2026, 11, 17))
    assert run.state == BenefitRun.State.DONE
    assert owed(people) == {
        ("低保85", "testcity.hardship", Decimal("300.00"), "困难老年人补贴（v1）：低保"),
        ("低收入70", "testcity.hardship", Decimal("200.00"), "困难老年人补贴（v1）：低收入"),
        ("低保85", "testcity.senior", Decimal("100.00"), "高龄津贴（v1）：80–89岁"),
        ("一般92", "testcity.senior", Decimal("500.00"), "高龄津贴（v1）：90–99岁"),
        ("一般92", "testcity.care", Decimal("400.00"), "失能护理补贴（v1）：重度失能"),
    }
    assert run.totals["programmes"]["testcity.hardship"] == {"beneficiaries": 2, "amount": "500.00"}
    assert (
        Entitlement.objects.get(
            beneficiary_id=people["低保85"].pk, programme_code="testcity.hardship"
        ).region_code
        == "120101001001"
    )


def test_running_twice_gives_the_same_result_and_pays_once(db, make_elder, pack_file):
    people = setup_city(make_elder, pack_file)
    services.benefits_run(actor="tests", period=NOVEMBER)
    first = owed(people)
    services.benefits_run(actor="tests", period=NOVEMBER)
    assert owed(people) == first and Entitlement.objects.count() == len(first)


def test_a_killed_run_resumes_and_gives_the_same_result(db, make_elder, pack_file):
    people = setup_city(make_elder, pack_file)
    clean = services.benefits_run(actor="tests", period=NOVEMBER)
    expected = owed(people)
    # As if killed after the first programme committed: the run is still running with one done.
    Entitlement.objects.exclude(programme_code="testcity.care").delete()
    BenefitRun.objects.filter(pk=clean.pk).update(
        state=BenefitRun.State.RUNNING, programmes_done=["testcity.care"]
    )
    resumed = services.benefits_run(actor="tests", period=NOVEMBER)
    assert resumed.pk == clean.pk and resumed.state == BenefitRun.State.DONE
    assert owed(people) == expected


def test_approved_entitlements_are_never_recomputed_or_doubled(db, make_elder, pack_file):
    people = setup_city(make_elder, pack_file)
    services.benefits_run(actor="tests", period=NOVEMBER)
    Entitlement.objects.filter(programme_code="testcity.hardship").update(state=Entitlement.State.APPROVED)
    registry_services.elder_update(actor="tests", elder=people["低收入70"], economic_status="subsistence")
    services.benefits_run(actor="tests", period=NOVEMBER)
    approved = Entitlement.objects.get(
        beneficiary_id=people["低收入70"].pk, programme_code="testcity.hardship"
    )
    assert (approved.amount, approved.state) == (Decimal("200.00"), Entitlement.State.APPROVED)
    assert Entitlement.objects.filter(programme_code="testcity.hardship").count() == 2


def test_the_command_prints_one_json_line_per_programme(db, make_elder, pack_file):
    setup_city(make_elder, pack_file)
    out = io.StringIO()
    call_command("run_benefits", "--period", "2026-11", "--json", stdout=out)
    figures = json.loads(out.getvalue())
    assert figures["testcity.senior"] == {"beneficiaries": 2, "amount": "600.00"}
    one = io.StringIO()
    call_command("run_benefits", "--period", "2026-11", "--programme", "testcity.care", "--json", stdout=one)
    assert list(json.loads(one.getvalue())) == ["testcity.care"]


def test_once_and_yearly_programmes(db, make_elder, pack_file):
    yearly = """
pack: testcity
name: 测试
jurisdiction: "120101"
programmes:
  - code: testcity.gift
    version: 1
    name: 一次性慰问金
    target: elder
    payment: cash
    frequency: once
    valid_from: 2020-01-01
    eligibility: {age_at_least: 90}
    amount: {fixed: 1000}
  - code: testcity.yearly
    version: 1
    name: 年度补贴
    target: elder
    payment: cash
    frequency: yearly
    pay_month: 12
    valid_from: 2020-01-01
    eligibility: {age_at_least: 90}
    amount: {fixed: 50}
"""
    services.policies_load(actor="tests", path=pack_file(yearly))
    make_elder(born=date(1930, 1, 1), name="百岁庚")
    services.benefits_run(actor="tests", period=NOVEMBER)
    services.benefits_run(actor="tests", period=date(2026, 12, 1))
    paid = sorted(Entitlement.objects.values_list("programme_code", "period"))
    assert paid == [("testcity.gift", NOVEMBER), ("testcity.yearly", date(2026, 12, 1))]


def test_facility_and_worker_programmes(cast, pack_file):
    from decimal import Decimal as D

    from yanglao.core.testing import make_id
    from yanglao.facilities import services as facility_services
    from yanglao.facilities.kinds import ensure_kinds
    from yanglao.providers import services as provider_services

    supply = """
pack: testcity
name: 测试
jurisdiction: "120101"
programmes:
  - code: testcity.award
    version: 1
    name: 等级评定奖补
    target: facility
    payment: cash
    frequency: once
    valid_from: 2020-01-01
    eligibility: {kind: [institution]}
    amount: {by_grade: {5: 50000, 4: 40000, 3: 30000}}
  - code: testcity.post
    version: 1
    name: 护理员岗位补贴
    target: worker
    payment: cash
    frequency: monthly
    valid_from: 2020-01-01
    eligibility: {status: [active]}
    amount: {by_certificate: {junior: 100, intermediate: 150, senior: 200}}
"""
    services.policies_load(actor="tests", path=pack_file(supply))
    ensure_kinds()
    home = facility_services.facility_create(
        actor="tests",
        name="颐年养老院",
        kind="institution",
        region="120101001",
        operating_model="public_public",
        beds=100,
        occupied_beds=60,
        grade=4,
        grade_date=date(2025, 6, 1),
        floor_area_m2=D("3000"),
    )
    worker = provider_services.worker_register(
        actor="tests",
        organisation=cast.organisations["provider"],
        name="刘秀英",
        id_number=make_id("120101", date(1980, 3, 3), False),
    )
    provider_services.worker_add_certificate(
        actor="tests", worker=worker, grade="junior", number="J-1", issued_on=date(2018, 1, 1)
    )
    provider_services.worker_add_certificate(
        actor="tests", worker=worker, grade="intermediate", number="Z-1", issued_on=date(2022, 1, 1)
    )
    services.benefits_run(actor="tests", period=NOVEMBER)
    services.benefits_run(actor="tests", period=date(2026, 12, 1))
    rows = sorted(Entitlement.objects.values_list("programme_code", "beneficiary_id", "period", "amount"))
    assert rows == [
        ("testcity.award", home.pk, NOVEMBER, D("40000")),  # once: not again in December
        ("testcity.post", worker.pk, NOVEMBER, D("150")),  # the highest grade held
        ("testcity.post", worker.pk, date(2026, 12, 1), D("150")),
    ]
