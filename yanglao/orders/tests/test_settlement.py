"""Monthly settlement per provider (DOMAIN.md §5, issue 7): confirmed visits on the provider's statement
with their subsidy/self-pay split; a run repeated (or two at once) pays nothing twice; a flagged visit
is held until cleared; a closed statement is final; the Excel statement; reconciliation with the ledger;
the settle_orders command."""

import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from python_calamine import CalamineWorkbook

from yanglao.benefits.models import LedgerEntry
from yanglao.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yanglao.core.models import AuditLog
from yanglao.core.testing import race
from yanglao.orders import fraud
from yanglao.orders import settlement as st
from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.models import FraudFlag, Order, OrderEvent, Settlement, SettlementLine, Visit
from yanglao.orders.tests.conftest import credit


def this_month() -> str:
    return timezone.localdate().strftime("%Y-%m")


def last_month() -> str:
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def next_month() -> str:
    return (timezone.localdate().replace(day=28) + timedelta(days=5)).strftime("%Y-%m")


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour, minute))


def confirmed_on(order: Order, when: datetime) -> Order:
    """Move the visit's confirmation (and the visit itself) back in time rather than wait for it."""
    Visit.objects.filter(order=order).update(
        confirmed_at=when, check_in_at=when - timedelta(minutes=70), check_out_at=when - timedelta(minutes=10)
    )
    return order


@pytest.fixture
def served(order_at):
    """served(status=RATED): an order walked to a confirmed visit. The fixture's visits are all by one
    worker and all check out now; whatever the fraud checks make of that is not under test here, so
    automatic flags are cleared (the tests that need a flag raise their own)."""

    def make(status=S.RATED, **kwargs):
        order = order_at(status, **kwargs)
        FraudFlag.objects.filter(visit__order=order).update(status="cleared")
        return order

    return make


def flag(order: Order, status: str = "open") -> FraudFlag:
    flagged, _ = FraudFlag.objects.update_or_create(
        visit=order.visit,
        kind="not_served",
        defaults={"status": status, "summary": "回访时老人反映未服务", "detected_at": timezone.now()},
    )
    return flagged


def clear(cast, flagged: FraudFlag) -> None:
    fraud.flag_review(actor=cast.district_staff, flag=flagged, decision="cleared", note="电话核实，服务属实")


# --------------------------------------------------------------------------------------- the statement


def test_a_confirmed_visit_lands_on_its_providers_statement_with_the_split(cast, served, elder, provider):
    credit(elder, "50")
    rated = served(S.RATED)
    confirmed = served(S.CONFIRMED)
    result = st.settlement_run(actor=cast.district_staff, period=this_month())
    assert [s.provider_id for s in result] == [provider.pk]
    statement = Settlement.objects.get(provider=provider, period=this_month())
    assert result[0].pk == statement.pk and result[0].run.added == 2 and result[0].run.held == 0
    assert statement.status == "open" and statement.visit_count == 2
    # 85 each: the first paid 50 from the account and 35 by the elder, the second all self-paid.
    assert (statement.amount, statement.account_amount, statement.self_amount) == (
        Decimal("170.00"),
        Decimal("50.00"),
        Decimal("120.00"),
    )
    line = SettlementLine.objects.get(visit__order=rated)
    assert (line.amount, line.account_amount, line.self_amount) == (
        Decimal("85"),
        Decimal("50"),
        Decimal("35"),
    )
    for order, before in ((rated, S.RATED), (confirmed, S.CONFIRMED)):
        order.refresh_from_db()
        assert order.status == S.SETTLED
        event = OrderEvent.objects.get(order=order, action="settle")
        assert (event.from_status, event.to_status, event.actor) == (before, S.SETTLED, cast.district_staff)
        assert event.data == {"settlement": statement.pk, "period": this_month()}
    audit = AuditLog.objects.get(action="settlement.run")
    assert audit.object_id == str(statement.pk) and audit.actor == cast.district_staff
    assert audit.changes["after"]["added"] == 2 and audit.changes["after"]["amount"] == "170.00"


def test_a_second_run_adds_nothing_and_pays_nothing_twice(cast, served, elder, provider):
    credit(elder, "50")
    served()
    served()
    st.settlement_run(actor="tests", period=this_month())
    statement = Settlement.objects.get()
    before = (statement.visit_count, statement.amount, statement.account_amount, statement.self_amount)
    counts = (SettlementLine.objects.count(), OrderEvent.objects.count(), AuditLog.objects.count())

    assert st.settlement_run(actor="tests", period=this_month()) == []
    assert st.settlement_run(actor=cast.city_admin, period=this_month()) == []

    statement.refresh_from_db()
    assert (
        statement.visit_count,
        statement.amount,
        statement.account_amount,
        statement.self_amount,
    ) == before
    assert (SettlementLine.objects.count(), OrderEvent.objects.count(), AuditLog.objects.count()) == counts
    assert OrderEvent.objects.filter(action="settle").count() == 2


def test_a_visit_confirmed_later_in_the_month_is_added_by_a_later_run(cast, served, provider):
    first = served()
    st.settlement_run(actor="tests", period=this_month())
    later = served()
    result = st.settlement_run(actor="tests", period=this_month())
    assert [s.run.added for s in result] == [1]
    statement = Settlement.objects.get()
    assert statement.visit_count == 2 and statement.amount == Decimal("170.00")
    assert set(statement.lines.values_list("visit__order_id", flat=True)) == {first.pk, later.pk}
    audits = AuditLog.objects.filter(action="settlement.run").order_by("pk")
    assert [(a.changes["after"]["added"], a.changes["after"]["visits"]) for a in audits] == [(1, 1), (1, 2)]
    assert audits[1].changes["before"]["visits"] == 1


def test_orders_still_being_served_or_cancelled_are_not_settled(cast, served, order_at, provider):
    served()
    checked_out = order_at(S.CHECKED_OUT)
    st.settlement_run(actor="tests", period=this_month())
    assert Settlement.objects.get().visit_count == 1
    checked_out.refresh_from_db()
    assert (
        checked_out.status == S.CHECKED_OUT
        and not SettlementLine.objects.filter(visit__order=checked_out).exists()
    )


# ------------------------------------------------------------------------------------------------ held


def test_a_flagged_visit_is_held_until_the_flag_is_cleared(cast, served, provider):
    clean = served()
    doubtful = served()
    flagged = flag(doubtful)
    result = st.settlement_run(actor="tests", period=this_month())
    assert [(s.run.added, s.run.held) for s in result] == [(1, 1)]
    assert list(SettlementLine.objects.values_list("visit__order_id", flat=True)) == [clean.pk]
    doubtful.refresh_from_db()
    assert doubtful.status == S.RATED

    # Still open: the next run holds it again and adds nothing.
    assert [(s.run.added, s.run.held) for s in st.settlement_run(actor="tests", period=this_month())] == [
        (0, 1)
    ]

    clear(cast, flagged)
    result = st.settlement_run(actor="tests", period=this_month())
    assert [(s.run.added, s.run.held) for s in result] == [(1, 0)]
    doubtful.refresh_from_db()
    assert doubtful.status == S.SETTLED
    assert Settlement.objects.get().visit_count == 2


def test_a_visit_confirmed_as_fraud_is_never_settled(cast, served, provider):
    fraud = served()
    flag(fraud, "confirmed")
    result = st.settlement_run(actor="tests", period=this_month())
    # The provider's statement exists (its work of the month is held), with nothing on it.
    assert [(s.visit_count, s.run.added, s.run.held) for s in result] == [(0, 0, 1)]
    assert not SettlementLine.objects.exists()


# ---------------------------------------------------------------------------------------------- closing


def test_a_closed_statement_is_not_extended_and_its_late_visits_wait_for_the_next_month(
    cast, served, provider
):
    previous = date.fromisoformat(last_month() + "-01")
    early = confirmed_on(served(), local(previous.year, previous.month, 10))
    st.settlement_run(actor="tests", period=last_month())
    statement = Settlement.objects.get(period=last_month())
    closed = st.settlement_close(actor=cast.district_staff, settlement=statement)
    assert closed.status == "closed" and closed.closed_by == cast.district_staff and closed.closed_at
    assert AuditLog.objects.filter(action="settlement.close", object_id=str(statement.pk)).count() == 1

    late = confirmed_on(served(), local(previous.year, previous.month, 20))
    result = st.settlement_run(actor="tests", period=last_month())
    assert [(s.pk, s.status, s.run.added, s.run.waiting) for s in result] == [(statement.pk, "closed", 0, 1)]
    assert "待下月结算" in result[0].run.note
    statement.refresh_from_db()
    assert statement.visit_count == 1 and list(statement.lines.values_list("visit__order_id", flat=True)) == [
        early.pk
    ]
    late.refresh_from_db()
    assert late.status == S.RATED

    # The next month's run takes it.
    result = st.settlement_run(actor="tests", period=this_month())
    assert [(s.period, s.run.added) for s in result] == [(this_month(), 1)]
    assert SettlementLine.objects.get(visit__order=late).settlement.period == this_month()


def test_closing_twice_is_a_conflict(cast, served, provider):
    served()
    statement = st.settlement_run(actor="tests", period=this_month())[0]
    st.settlement_close(actor=cast.city_admin, settlement=statement)
    with pytest.raises(Conflict, match="已对账") as refused:
        st.settlement_close(actor=cast.city_admin, settlement=statement)
    assert refused.value.field == "status"
    assert AuditLog.objects.filter(action="settlement.close").count() == 1


def test_only_staff_of_the_providers_district_close_its_statement(cast, served, provider):
    served()
    statement = st.settlement_run(actor="tests", period=this_month())[0]
    with pytest.raises(PermissionDenied):
        st.settlement_close(actor=cast.provider_admin, settlement=statement)
    with pytest.raises(NotFound):
        st.settlement_close(actor=cast.other_district_staff, settlement=statement)
    statement.refresh_from_db()
    assert statement.status == "open"


# ----------------------------------------------------------------------------------------------- period


@pytest.mark.parametrize(
    "period", ["2026-13", "2026-00", "2026/11", "202611", "abc", "", "1999-12", "2026-1"]
)
def test_a_malformed_period_is_refused_naming_the_field(cast, period):
    with pytest.raises(InvalidInput) as refused:
        st.settlement_run(actor="tests", period=period)
    assert refused.value.field == "period"


def test_a_future_month_is_refused(cast, served):
    served()
    with pytest.raises(InvalidInput, match="尚未到来") as refused:
        st.settlement_run(actor="tests", period=next_month())
    assert refused.value.field == "period"
    assert not Settlement.objects.exists()


def test_the_month_ends_at_local_midnight(cast, served, provider):
    first = timezone.localdate().replace(day=1)
    previous = first - timedelta(days=1)
    # 23:30 on the last day of last month (15:30 UTC) belongs to last month; 00:30 on the first of this
    # month (16:30 UTC the day before) does not.
    in_time = confirmed_on(served(), local(previous.year, previous.month, previous.day, 23, 30))
    too_late = confirmed_on(served(), local(first.year, first.month, 1, 0, 30))
    st.settlement_run(actor="tests", period=last_month())
    assert list(SettlementLine.objects.values_list("visit__order_id", flat=True)) == [in_time.pk]
    st.settlement_run(actor="tests", period=this_month())
    assert SettlementLine.objects.get(visit__order=too_late).settlement.period == this_month()


# ------------------------------------------------------------------------------------------ permissions


@pytest.mark.parametrize("who", ["care_worker", "provider_admin", "community_worker", "operator"])
def test_who_may_not_settle_is_refused(cast, served, who):
    order = served()
    with pytest.raises(PermissionDenied):
        st.settlement_run(actor=getattr(cast, who), period=this_month())
    order.refresh_from_db()
    assert order.status == S.RATED and not Settlement.objects.exists()


def test_another_districts_staff_settle_nothing_of_this_district(cast, served):
    order = served()
    assert st.settlement_run(actor=cast.other_district_staff, period=this_month()) == []
    order.refresh_from_db()
    assert order.status == S.RATED and not Settlement.objects.exists()
    with pytest.raises(PermissionDenied):
        st.settlement_run(actor=cast.other_district_staff, period=this_month(), region="120101")


def test_a_clerk_settles_only_the_region_asked_for_within_their_own(cast, served, provider):
    order = served()
    assert st.settlement_run(actor=cast.city_admin, period=this_month(), region="120102") == []
    assert [s.run.added for s in st.settlement_run(actor=cast.street_staff, period=this_month())] == [1]
    order.refresh_from_db()
    assert order.status == S.SETTLED


def test_one_providers_run_leaves_others_alone(cast, served, provider, second_provider):
    served()
    assert st.settlement_run(actor="tests", period=this_month(), provider=second_provider) == []
    assert [
        s.provider_id for s in st.settlement_run(actor="tests", period=this_month(), provider=provider.pk)
    ] == [provider.pk]
    with pytest.raises(NotFound):
        st.settlement_run(actor="tests", period=this_month(), provider=10**9)


# -------------------------------------------------------------------------------------------- selectors


def test_who_sees_which_statement(cast, served, provider):
    served()
    statement = st.settlement_run(actor="tests", period=this_month())[0]
    for who in ("provider_admin", "district_staff", "street_staff", "city_admin", "superuser"):
        assert st.settlement_get(getattr(cast, who), statement.pk) == statement, who
    for who in ("other_provider_admin", "other_district_staff", "care_worker", "operator", "elder"):
        assert not st.settlements_visible(getattr(cast, who)).exists(), who
        with pytest.raises(NotFound):
            st.settlement_get(getattr(cast, who), statement.pk)


# --------------------------------------------------------------------------------------------- workbook


def test_the_statement_workbook_has_the_totals_and_masked_id_numbers(cast, served, elder, provider):
    credit(elder, "100")
    served()
    served()
    statement = st.settlement_run(actor="tests", period=this_month())[0]
    book = CalamineWorkbook.from_filelike(io.BytesIO(st.statement_xlsx(statement)))
    assert book.sheet_names == ["结算汇总", "服务明细"]
    summary = dict(tuple(r[:2]) for r in book.get_sheet_by_name("结算汇总").to_python()[1:])
    assert summary["服务机构"] == "和平区测试服务中心" and summary["结算月份"] == this_month()
    assert summary["服务次数"] == 2 and summary["服务老人数"] == 1
    assert (summary["服务金额（元）"], summary["服务账户支付（元）"], summary["个人自付（元）"]) == (
        170,
        100,
        70,
    )
    rows = book.get_sheet_by_name("服务明细").to_python()
    assert rows[0][:5] == ["序号", "工单号", "服务日期", "老人姓名", "身份证号码"]
    details, total = rows[1:-1], rows[-1]
    masked = elder.id_number[:6] + "********" + elder.id_number[-4:]
    assert [r[4] for r in details] == [masked, masked]
    assert all(r[3] == elder.name and r[5] == "助浴" and r[6] == "刘秀英" and r[9] == 60 for r in details)
    assert [r[10:13] for r in details] == [[85, 85, 0], [85, 15, 70]]
    assert total[0] == "合计" and total[10:13] == [170, 100, 70]
    assert [r[13] for r in details] == [5, 5]
    assert not AuditLog.objects.filter(action="settlement.export_unmasked").exists()

    clear_rows = (
        CalamineWorkbook.from_filelike(
            io.BytesIO(st.statement_xlsx(statement, mask=False, actor=cast.city_admin))
        )
        .get_sheet_by_name("服务明细")
        .to_python()
    )
    assert clear_rows[1][4] == elder.id_number
    assert AuditLog.objects.get(action="settlement.export_unmasked").actor == cast.city_admin


# ------------------------------------------------------------------------------------------ reconciling


def test_reconciliation_shows_statements_equal_to_the_ledgers_debits(cast, served, elder, provider):
    credit(elder, "100")
    served()  # 85 from the account
    served()  # 15 from the account, 70 self-paid
    held = served()  # nothing left on the account: all self-paid
    flag(held)
    st.settlement_run(actor="tests", period=this_month())
    rows = st.reconciliation(cast.district_staff, this_month())
    assert len(rows) == 1
    row = rows[0]
    assert row["provider_id"] == provider.pk and row["provider"] == "和平区测试服务中心"
    assert (row["confirmed"], row["settled"], row["held"], row["flags"], row["unsettled"]) == (3, 2, 1, 1, 0)
    assert row["status"] == "open" and row["statement_visits"] == 2
    assert (row["amount"], row["account_amount"], row["self_amount"]) == (
        Decimal("170.00"),
        Decimal("100.00"),
        Decimal("70.00"),
    )
    assert row["ledger_debits"] == Decimal("100.00") and row["matches"] is True

    # A ledger that disagrees with the statement shows up as a mismatch.
    entry = Visit.objects.exclude(ledger_entry_id=None).order_by("pk").first().ledger_entry_id
    LedgerEntry.objects.filter(pk=entry).update(amount=Decimal("-80.00"))
    row = st.reconciliation(cast.city_admin, this_month())[0]
    assert row["ledger_debits"] == Decimal("95.00") and row["matches"] is False


def test_reconciliation_is_scoped(cast, served, provider):
    order = served()
    assert st.reconciliation(cast.other_district_staff, this_month()) == []
    assert st.reconciliation(cast.other_provider_admin, this_month()) == []
    row = st.reconciliation(cast.provider_admin, this_month())[0]
    assert (row["confirmed"], row["unsettled"], row["settlement_id"]) == (1, 1, None)
    with pytest.raises(PermissionDenied):
        st.reconciliation(cast.care_worker, this_month())
    with pytest.raises(PermissionDenied):
        st.reconciliation(cast.district_staff, this_month(), region="120102")
    assert order.pk


# ---------------------------------------------------------------------------------------------- command


def test_the_command_prints_one_json_line_per_statement(cast, served, elder, provider):
    credit(elder, "50")
    served()
    flag(served())
    out = io.StringIO()
    call_command("settle_orders", "--period", this_month(), "--json", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    statement = Settlement.objects.get()
    assert lines == [
        {
            "settlement": statement.pk,
            "provider": provider.pk,
            "period": this_month(),
            "status": "open",
            "visits": 1,
            "amount": "85.00",
            "account": "50.00",
            "self": "35.00",
            "added": 1,
            "held": 1,
            "waiting": 0,
        }
    ]
    out = io.StringIO()
    call_command("settle_orders", "--period", this_month(), "--provider", str(provider.pk), stdout=out)
    assert "本次计入 0 次" in out.getvalue() and "1 次服务有疑点待核查" in out.getvalue()
    with pytest.raises(CommandError, match="无效"):
        call_command("settle_orders", "--period", "2026-13")


# ------------------------------------------------------------------------------- concurrency (PostgreSQL)


@pytest.fixture
def pg(transactional_db):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers with a file lock; the row locks under test are PostgreSQL's")


def _paid_once(orders: list[Order]) -> None:
    assert SettlementLine.objects.count() == len(orders)
    assert sorted(SettlementLine.objects.values_list("visit__order_id", flat=True)) == sorted(
        o.pk for o in orders
    )
    for order in orders:
        assert OrderEvent.objects.filter(order=order, action="settle").count() == 1
        order.refresh_from_db()
        assert order.status == S.SETTLED
    for statement in Settlement.objects.all():
        lines = list(statement.lines.all())
        assert statement.visit_count == len(lines) and statement.amount == sum(x.amount for x in lines)


def test_two_runs_of_one_month_at_once_settle_each_visit_once(pg, cast, served, elder, provider):
    credit(elder, "100")
    orders = [served()]
    # The statement exists already, so nothing but the run's own lock keeps the two runs apart.
    st.settlement_run(actor="tests", period=this_month())
    orders += [served() for _ in range(3)]
    outcomes = race(lambda: st.settlement_run(actor="tests", period=this_month()))
    assert all(isinstance(o, list) for o in outcomes), outcomes
    assert sorted(sum(s.run.added for s in o) for o in outcomes) == [0, 3]
    _paid_once(orders)
    statement = Settlement.objects.get()
    assert (statement.visit_count, statement.amount, statement.account_amount) == (
        4,
        Decimal("340.00"),
        Decimal("100.00"),
    )


def test_runs_of_two_months_at_once_settle_a_late_visit_once(pg, cast, served, provider):
    previous = date.fromisoformat(last_month() + "-01")
    orders = [confirmed_on(served(), local(previous.year, previous.month, 15)) for _ in range(3)]
    periods = iter([last_month(), this_month()])
    outcomes = race(lambda: st.settlement_run(actor="tests", period=next(periods)))
    assert all(isinstance(o, list) for o in outcomes), outcomes
    assert sum(s.run.added for o in outcomes for s in o) == 3
    _paid_once(orders)
