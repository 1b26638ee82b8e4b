"""Combination rules between programmes (`not_with`) and back-pay when a level is approved late."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from yanglao.assessments.enums import Status as AssessmentStatus
from yanglao.assessments.models import Assessment
from yanglao.benefits import packs, selectors, services
from yanglao.benefits.models import Entitlement

OCTOBER, NOVEMBER = date(2026, 10, 1), date(2026, 11, 1)

MEAL = """
  - code: testcity.meal
    version: 1
    name: 助餐补贴
    target: elder
    payment: service_credit
    frequency: monthly
    valid_from: 2020-01-01
    not_with: [testcity.hardship]
    eligibility: {age_at_least: 80}
    amount: {fixed: 60}
"""


def paid(programme: str, period: date = NOVEMBER) -> dict[int, Decimal]:
    return dict(
        Entitlement.objects.filter(programme_code=programme, period=period).values_list(
            "beneficiary_id", "amount"
        )
    )


def test_not_with_leaves_out_whoever_the_other_programme_pays(db, make_elder, pack_file):
    from yanglao.benefits.tests.conftest import PACK

    services.policies_load(actor="tests", path=pack_file(PACK + MEAL))
    poor = make_elder(born=date(1940, 1, 1), economic_status="subsistence", name="低保甲")
    general = make_elder(born=date(1940, 1, 1), name="一般乙")
    services.benefits_run(actor="tests", period=NOVEMBER, programme="testcity.meal")  # run alone, first
    assert paid("testcity.meal") == {general.pk: Decimal("60.00")}
    services.benefits_run(actor="tests", period=NOVEMBER)
    assert paid("testcity.meal") == {general.pk: Decimal("60.00")}
    assert paid("testcity.hardship") == {poor.pk: Decimal("300.00")}
    # What-if of the draft uses the same rule.
    found = {w.code: w for w in selectors.whatif(path=pack_file(PACK + MEAL, "draft.yaml"), period=NOVEMBER)}
    assert found["testcity.meal"].heads == 1


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (MEAL.replace("[testcity.hardship]", "[testcity.nowhere]"), "testcity.nowhere 未加载"),
        (MEAL.replace("[testcity.hardship]", "[testcity.meal]"), "不能引用项目自身"),
        (MEAL.replace("[testcity.hardship]", "[hardship]"), "not_with: 应为项目代码列表"),
    ],
)
def test_a_wrong_combination_is_refused_naming_file_programme_and_field(db, pack_file, extra, problem):
    from yanglao.benefits.tests.conftest import PACK

    with pytest.raises(packs.PackError, match=problem) as refused:
        services.policies_load(actor="tests", path=pack_file(PACK + extra))
    assert "testcity.yaml: testcity.meal: not_with" in str(refused.value)
    assert not services.Programme.objects.exists()  # nothing half-loaded


def test_combinations_that_go_round_in_a_circle_are_refused(db, pack_file):
    from yanglao.benefits.tests.conftest import PACK

    circle = PACK.replace(
        "    eligibility: {all: [{age_at_least: 60}]}",
        "    not_with: [testcity.meal]\n    eligibility: {all: [{age_at_least: 60}]}",
    )
    with pytest.raises(packs.PackError, match="组合规则形成循环"):
        services.policies_load(actor="tests", path=pack_file(circle + MEAL))


def effective(elder, level: str, valid_from: date, reviewed_at=None) -> Assessment:
    Assessment.objects.filter(elder=elder, status=AssessmentStatus.EFFECTIVE).update(
        status=AssessmentStatus.SUPERSEDED
    )
    return Assessment.objects.create(
        elder=elder,
        kind="first",
        status=AssessmentStatus.EFFECTIVE,
        final_level=level,
        level_label=level,
        total=40,
        valid_from=valid_from,
        valid_until=valid_from + timedelta(days=364),
        reviewed_at=reviewed_at or timezone.now(),
    )


def test_a_level_approved_after_the_month_was_computed_is_back_paid_once(db, make_elder, pack_file):
    services.policies_load(actor="tests", path=pack_file())
    late = make_elder(born=date(1950, 1, 1), name="晚批甲")
    upgraded = make_elder(born=date(1950, 1, 1), name="升级乙")
    effective(upgraded, "moderate", date(2026, 1, 1))
    services.benefits_run(actor="tests", period=OCTOBER)
    assert paid("testcity.care", OCTOBER) == {upgraded.pk: Decimal("200.00")}
    # October is approved and paid out; then two results assessed in September are approved late.
    Entitlement.objects.filter(period=OCTOBER).update(state=Entitlement.State.APPROVED)
    effective(late, "severe", date(2026, 9, 20))
    effective(upgraded, "complete", date(2026, 9, 25))

    run = services.benefits_run(actor="tests", period=NOVEMBER)
    assert paid("testcity.care") == {late.pk: Decimal("400.00"), upgraded.pk: Decimal("600.00")}
    back = {
        e.beneficiary_id: (e.amount, e.kind, e.state, e.reason)
        for e in Entitlement.objects.filter(period=OCTOBER, kind=Entitlement.Kind.BACKPAY)
    }
    assert back == {
        late.pk: (
            Decimal("400.00"),
            "backpay",
            "draft",
            services.BACKPAY_REASON + "失能护理补贴（v1）：重度失能",
        ),
        # October gave 200 at moderate; complete owes 600: the difference.
        upgraded.pk: (
            Decimal("400.00"),
            "backpay",
            "draft",
            services.BACKPAY_REASON + "失能护理补贴（v1）：完全失能",
        ),
    }
    assert run.totals["backpay"] == {"rows": 2, "months": ["2026-10"]}
    # Running November again, or re-running October, pays nobody twice.
    services.benefits_run(actor="tests", period=NOVEMBER)
    services.benefits_run(actor="tests", period=OCTOBER)
    assert Entitlement.objects.filter(period=OCTOBER, kind=Entitlement.Kind.BACKPAY).count() == 2
    october = Entitlement.objects.filter(period=OCTOBER, programme_code="testcity.care")
    assert {e: sum(x.amount for x in october if x.beneficiary_id == e) for e in (late.pk, upgraded.pk)} == {
        late.pk: Decimal("400.00"),
        upgraded.pk: Decimal("600.00"),
    }


def test_no_back_pay_for_a_month_still_in_review_or_never_run(db, make_elder, pack_file):
    services.policies_load(actor="tests", path=pack_file())
    elder = make_elder(born=date(1950, 1, 1))
    services.benefits_run(actor="tests", period=OCTOBER)  # October's rows stay drafts
    other = make_elder(born=date(1950, 1, 1), name="李四")
    effective(other, "moderate", date(2026, 1, 1))
    services.benefits_run(actor="tests", period=OCTOBER)  # other now has a draft October row
    effective(other, "severe", date(2026, 8, 1))
    effective(elder, "severe", date(2026, 8, 1))
    run = services.benefits_run(actor="tests", period=NOVEMBER)
    # elder had no October row: back-paid; other's October row is a draft: its re-run decides.
    assert set(paid("testcity.care", OCTOBER)) == {elder.pk, other.pk}
    assert Entitlement.objects.filter(kind=Entitlement.Kind.BACKPAY).get().beneficiary_id == elder.pk
    assert run.totals["backpay"]["months"] == ["2026-10"]  # September was never run: nothing for it
