"""Two runs or two approvals of one month at the same moment (PostgreSQL row locks): the same figures
as one run, and every service credit exactly once."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from yanglao.benefits import services
from yanglao.benefits.models import BenefitRun, Entitlement, LedgerEntry, ServiceAccount
from yanglao.benefits.tests.conftest import PACK
from yanglao.core.errors import Conflict
from yanglao.core.testing import ensure_tianjin, race
from yanglao.registry import services as registry_services
from yanglao.registry.tests.conftest import make_id

NOVEMBER = date(2026, 11, 1)


@pytest.fixture
def city(transactional_db, tmp_path):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers with a file lock; the row locks under test are PostgreSQL's")
    ensure_tianjin()
    path = tmp_path / "testcity.yaml"
    path.write_text(PACK, encoding="utf-8")
    services.policies_load(actor="tests", path=path)
    for index, (born, status) in enumerate(
        [(date(1941, 5, 1), "subsistence"), (date(1950, 5, 1), "low_income"), (date(1934, 5, 1), "general")]
    ):
        registry_services.elder_register(
            actor="tests",
            name="并发" + "甲乙丙"[index],
            id_number=make_id("120101", born),
            residence_region="120101001001",
            economic_status=status,
        )


def figures() -> set[tuple]:
    return set(Entitlement.objects.values_list("programme_code", "beneficiary_id", "amount", "state", "kind"))


def test_two_runs_of_one_month_at_once_give_the_figures_of_one(city):
    outcomes = race(lambda: services.benefits_run(actor="tests", period=NOVEMBER))
    assert all(isinstance(o, BenefitRun) and o.state == BenefitRun.State.DONE for o in outcomes), outcomes
    together = figures()
    Entitlement.objects.all().delete()
    services.benefits_run(actor="tests", period=NOVEMBER)
    assert together == figures() and len(together) == 4


def test_two_approvals_at_once_credit_each_entitlement_once(city):
    services.benefits_run(actor="tests", period=NOVEMBER)
    services.entitlements_review(actor="tests", period=NOVEMBER, district="120101")
    outcomes = race(lambda: services.entitlements_approve(actor="tests", period=NOVEMBER))
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "dict"]
    assert [o for o in outcomes if isinstance(o, Conflict)][0].field == "period"
    credits = Entitlement.objects.filter(payment="service_credit")
    assert LedgerEntry.objects.count() == credits.count() == 2
    assert (
        sum(a.balance for a in ServiceAccount.objects.all())
        == sum(c.amount for c in credits)
        == Decimal("500.00")
    )


def test_a_run_outside_a_transaction_computes_its_figures_beside_each_other_and_gets_them_right(city):
    from yanglao.benefits import periods

    services.benefits_run(actor="tests", period=date(2026, 10, 1))
    Entitlement.objects.filter(period=date(2026, 10, 1)).order_by(
        "pk"
    ).first().delete()  # one new in November
    run = services.benefits_run(
        actor="tests", period=NOVEMBER
    )  # the figures: threads, connections of their own
    totals, differences = periods.totals(NOVEMBER), periods.differences(NOVEMBER)  # one after the other
    nothing = {"beneficiaries": 0, "amount": "0.00"}
    assert run.totals["programmes"] == {code: totals.get(code, nothing) for code in run.totals["programmes"]}
    assert run.totals["differences"] == {
        code: differences.get(code, {"new": 0, "stopped": 0, "changed": 0})
        for code in run.totals["differences"]
    }
    assert sum(d["new"] for d in run.totals["differences"].values()) == 1
