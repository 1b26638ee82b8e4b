"""District review, city approval, service accounts credited once and never overdrawn; differences from
the previous period; what-if without writing."""

from datetime import date
from decimal import Decimal

import pytest

from yanglao.benefits import selectors, services
from yanglao.benefits.models import Entitlement, LedgerEntry, ServiceAccount
from yanglao.benefits.tests.conftest import PACK
from yanglao.benefits.tests.test_benefits_run import NOVEMBER, setup_city
from yanglao.core.errors import Conflict, PermissionDenied
from yanglao.registry import services as registry_services


def test_review_then_approval_credits_service_accounts_once(cast, make_elder, pack_file):
    people = setup_city(make_elder, pack_file)
    services.benefits_run(actor="tests", period=NOVEMBER)
    with pytest.raises(Conflict, match="120101"):
        services.entitlements_approve(actor=cast.city_admin, period=NOVEMBER)
    with pytest.raises(PermissionDenied):
        services.entitlements_review(actor=cast.community_worker, period=NOVEMBER, district="120101")
    with pytest.raises(PermissionDenied):
        services.entitlements_review(actor=cast.other_district_staff, period=NOVEMBER, district="120101")
    assert services.entitlements_review(actor=cast.district_staff, period=NOVEMBER, district="120101") == 5
    with pytest.raises(PermissionDenied):
        services.entitlements_approve(actor=cast.district_staff, period=NOVEMBER)
    result = services.entitlements_approve(actor=cast.city_admin, period=NOVEMBER)
    # service credit: hardship (300 + 200) and care (400); the senior allowance is cash
    assert result == {"approved": 5, "credited": 3}
    balances = dict(ServiceAccount.objects.values_list("elder_id", "balance"))
    assert balances == {
        people["低保85"].pk: Decimal("300"),
        people["低收入70"].pk: Decimal("200"),
        people["一般92"].pk: Decimal("400"),
    }
    with pytest.raises(Conflict):
        services.entitlements_approve(actor=cast.city_admin, period=NOVEMBER)
    assert LedgerEntry.objects.count() == 3


def test_a_service_account_is_never_overdrawn(cast, make_elder, pack_file):
    people = setup_city(make_elder, pack_file)
    services.benefits_run(actor="tests", period=NOVEMBER)
    services.entitlements_review(actor="tests", period=NOVEMBER, district="120101")
    services.entitlements_approve(actor="tests", period=NOVEMBER)
    elder = people["低收入70"].pk
    services.service_account_debit(
        actor="tests", elder_id=elder, amount=Decimal("150"), reference="O-1", note="助洁"
    )
    with pytest.raises(Conflict, match="余额不足"):
        services.service_account_debit(
            actor="tests", elder_id=elder, amount=Decimal("60"), reference="O-2", note="助浴"
        )
    assert ServiceAccount.objects.get(elder_id=elder).balance == Decimal("50")
    assert sum(
        LedgerEntry.objects.filter(account__elder_id=elder).values_list("amount", flat=True)
    ) == Decimal("50")


def test_differences_from_the_previous_period_name_new_stopped_and_changed(db, make_elder, pack_file):
    people = setup_city(make_elder, pack_file)
    services.benefits_run(actor="tests", period=date(2026, 10, 1))
    registry_services.elder_update(actor="tests", elder=people["低收入70"], economic_status="subsistence")
    registry_services.elder_record_event(
        actor="tests", elder=people["低保85"], kind="death", on=date(2026, 10, 20)
    )
    newcomer = make_elder(born=date(1950, 1, 1), economic_status="low_income", name="新低收入")
    services.benefits_run(actor="tests", period=NOVEMBER)
    found = selectors.differences("testcity.hardship", NOVEMBER)
    assert (found.new, found.stopped, found.changed) == (1, 1, 1)
    assert found.samples["new"][0]["beneficiary_id"] == newcomer.pk
    assert found.samples["stopped"][0]["beneficiary_id"] == people["低保85"].pk
    changed = found.samples["changed"][0]
    assert (changed["before_amount"], changed["amount"]) == (Decimal("200"), Decimal("300"))
    assert "低收入" in changed["before_reason"] and "低保" in changed["reason"]


def test_what_if_evaluates_a_draft_without_writing(db, make_elder, pack_file, tmp_path):
    setup_city(make_elder, pack_file)
    services.policies_load(actor="tests", path=pack_file())
    draft = pack_file(PACK.replace("amount: 300, label: 低保", "amount: 350, label: 低保"), "draft.yaml")
    results = {r.code: r for r in selectors.whatif(path=draft, period=NOVEMBER)}
    hardship = results["testcity.hardship"]
    assert (hardship.heads, hardship.cost) == (2, Decimal("550"))
    assert hardship.by_district == {"120101": {"heads": 2, "cost": Decimal("550")}}
    assert hardship.replaces == {"version": 1, "heads": 2, "cost": Decimal("500")}
    assert not Entitlement.objects.exists()


def test_review_of_an_empty_district_is_refused(cast, db):
    with pytest.raises(Conflict):
        services.entitlements_review(actor=cast.district_staff, period=NOVEMBER, district="120101")


def test_the_whatif_command_prints_one_json_line(db, make_elder, pack_file):
    import io
    import json

    from django.core.management import call_command

    setup_city(make_elder, pack_file)
    out = io.StringIO()
    call_command("whatif_benefits", "--policy", str(pack_file()), "--period", "2026-11", "--json", stdout=out)
    rows = json.loads(out.getvalue())
    assert rows["testcity.senior"]["heads"] == 2 and rows["testcity.senior"]["cost"] == "600"
    assert rows["testcity.senior"]["by_district"] == {"120101": {"heads": 2, "cost": "600"}}
    assert not Entitlement.objects.exists()


def test_a_death_reported_after_payment_is_recovered_and_a_correction_withdraws_it(
    cast, make_elder, pack_file, django_capture_on_commit_callbacks
):
    people = setup_city(make_elder, pack_file)
    for month in (10, 11):
        services.benefits_run(actor="tests", period=date(2026, month, 1))
        services.entitlements_review(actor="tests", period=date(2026, month, 1), district="120101")
        services.entitlements_approve(actor="tests", period=date(2026, month, 1))
    elder = people["一般92"]  # senior allowance 500 a month in cash, care 400 in service credit
    with django_capture_on_commit_callbacks(execute=True):
        death = registry_services.elder_record_event(
            actor="tests", elder=elder, kind="death", on=date(2026, 10, 12)
        )
    recovery = Entitlement.objects.get(beneficiary_id=elder.pk, kind="recovery")
    assert (recovery.period, recovery.amount, recovery.state) == (NOVEMBER, Decimal("-500"), "draft")
    assert recovery.reason.startswith("追回：老人于 2026-10-12 死亡")
    elder.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        registry_services.elder_record_event(
            actor="tests", elder=elder, kind="correction", on=date(2026, 10, 12), reverses=death
        )
    assert not Entitlement.objects.filter(kind="recovery").exists()
