"""Loading policy packs and the monthly entitlement run (DOMAIN.md §3).

The run is set-based (DESIGN.md rule 7): for each programme one INSERT … SELECT writes every
beneficiary's entitlement with its amount and reason, computed in SQL from the compiled conditions.
Each programme is one transaction and is recorded on the run when it commits, so a run killed at any
point resumes with the next programme and gives the same result; entitlements already reviewed,
approved or paid are never recomputed or written twice (the unique key is per programme, beneficiary
and period).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection, connections, transaction
from django.db.models import (
    Case,
    CharField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from yanglao.accounts.scope import is_person, require_perm, require_region
from yanglao.assessments.enums import Status as AssessmentStatus
from yanglao.benefits import conditions, packs, periods
from yanglao.benefits.ahead import Ahead
from yanglao.benefits.models import BenefitRun, Entitlement, LedgerEntry, Programme, ServiceAccount
from yanglao.core import audit, policy
from yanglao.core.errors import Conflict, InvalidInput
from yanglao.core.permissions import Perm
from yanglao.regions import codes
from yanglao.registry.enums import Status as ElderStatus

REGION_FIELD = {"elder": "residence_region_id", "facility": "region_id", "worker": "organisation__region_id"}
# Nobody is paid after death or after leaving the city, whatever a pack says.
_NOT_PAID = {
    "elder": Q(status__in=[ElderStatus.DECEASED, ElderStatus.MOVED_OUT]),
    "facility": Q(status="closed"),
}


@transaction.atomic
def policies_load(*, actor: Any, path: str | Path, jurisdiction: str | None = None) -> dict[str, list[str]]:
    """Load the packs of a file or directory; a changed rule needs a new version number, and the old
    version stays for the entitlements that used it. `jurisdiction` re-targets every programme loaded."""
    if is_person(actor):
        require_perm(actor, Perm.POLICIES_MANAGE)
    if jurisdiction is not None:
        jurisdiction = codes.normalize(jurisdiction, field="jurisdiction")
    loaded = packs.load_path(path)
    # The programmes named by `not_with` must exist once this load is done: loaded before, or in these files.
    known: packs.Combinations = {
        code: (target, list(rule.get("not_with", [])), "已加载")
        for code, target, rule in Programme.objects.filter(is_current=True).values_list(
            "code", "target", "rule"
        )
    }
    packs.check_combinations({**known, **packs.combinations(loaded)}, complete=True)
    outcome: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    for pack in loaded:
        for spec in pack.programmes:
            target_region = jurisdiction or spec.jurisdiction
            current = Programme.objects.select_for_update().filter(code=spec.code, is_current=True).first()
            if current is not None and spec.version < current.version:
                raise packs.PackError(
                    f"{spec.source_file}: {spec.code}: version: {spec.version} 低于已加载的版本 {current.version}"
                )
            if current is not None and spec.version == current.version:
                if current.rule != spec.rule():
                    raise packs.PackError(
                        f"{spec.source_file}: {spec.code}: version: 规则已修改但版本号仍为 {spec.version}，"
                        f"请改为 {spec.version + 1}"
                    )
                fields = {
                    "name": spec.name,
                    "jurisdiction": target_region,
                    "assumed": spec.assumed,
                    "note": spec.note,
                }
                changed = {k: v for k, v in fields.items() if getattr(current, k) != v}
                if changed:
                    Programme.objects.filter(pk=current.pk).update(**changed)
                    audit.record(actor, "programme.update", current, region_code=target_region, after=changed)
                    outcome["updated"].append(spec.code)
                else:
                    outcome["unchanged"].append(spec.code)
                continue
            if current is not None:
                Programme.objects.filter(pk=current.pk).update(is_current=False)
            created = Programme.objects.create(
                code=spec.code,
                version=spec.version,
                pack=spec.pack,
                name=spec.name,
                jurisdiction=target_region,
                target=spec.target,
                payment=spec.payment,
                frequency=spec.frequency,
                pay_month=spec.pay_month,
                valid_from=spec.valid_from,
                valid_until=spec.valid_until,
                rule=spec.rule(),
                assumed=spec.assumed,
                note=spec.note,
                source=spec.source[:300],
                source_file=spec.source_file,
                loaded_by=actor if is_person(actor) else None,
            )
            audit.record(
                actor, "programme.load", created, region_code=target_region, after={"version": spec.version}
            )
            outcome["created" if current is None else "updated"].append(spec.code)
    return outcome


def _applies(programme: Programme, first: date, last: date) -> bool:
    if programme.valid_from > last or (programme.valid_until and programme.valid_until < first):
        return False
    return programme.frequency != "yearly" or first.month == programme.pay_month


def beneficiaries(programme: Programme, first: date, region: str | None = None) -> Any:
    """(beneficiary id, region code, amount, reason) of everyone the programme pays for the period
    starting on `first`: one query, the amount and the reason computed in SQL."""
    return eligible(programme, first, region).values_list(
        "pk", REGION_FIELD[programme.target], "benefit_amount", "benefit_reason"
    )


def eligible(programme: Programme, first: date, region: str | None = None, reason_prefix: str = "") -> Any:
    """The beneficiaries as a queryset annotated with benefit_amount and benefit_reason."""
    target = programme.target
    field = REGION_FIELD[target]
    # The jurisdiction is nearly always the whole registry (a city's programme over the city's elders):
    # as an index range it would make SQLite, which keeps no statistics on ranges, walk every elder
    # through the region index instead of using a selective one (birth date, status), so it is a
    # prefix test on the row. The region of a partial run is selective and stays an index range.
    queryset = conditions.base_queryset(target, first).filter(
        **{f"{field.removesuffix('_id')}__pk__startswith": programme.jurisdiction}
    )
    if region:
        queryset = queryset.filter(codes.within(region, field))
    if target in _NOT_PAID:
        queryset = queryset.exclude(_NOT_PAID[target])
    queryset = queryset.filter(conditions.compile_condition(programme.rule["eligibility"], target, first))
    for other in _not_with(programme, first):
        # Not paid to whoever the other programme pays for the period: decided from the registry (its
        # eligibility and amount), not from rows written, so neither the order of the programmes in a
        # run nor a run of one programme alone can pay both.
        queryset = queryset.exclude(Exists(eligible(other, first).filter(pk=OuterRef("pk"))))
    if programme.frequency == "once":
        paid_before = Entitlement.objects.filter(programme_code=programme.code, target=target)
        queryset = queryset.exclude(pk__in=paid_before.values("beneficiary_id"))
    rows = packs.amount_rows(programme.rule["amount"], target, first)
    money = DecimalField(max_digits=12, decimal_places=2)
    text = CharField(max_length=300)
    if len(rows) == 1 and not rows[0].condition:
        amount: Any = Value(rows[0].amount, output_field=money)
        reason: Any = Value(reason_prefix + _reason(programme, rows[0].label), output_field=text)
    else:
        amount = Case(
            *(When(r.condition, then=Value(r.amount, output_field=money)) for r in rows), output_field=money
        )
        reason = Case(
            *(
                When(r.condition, then=Value(reason_prefix + _reason(programme, r.label), output_field=text))
                for r in rows
            ),
            output_field=text,
        )
    return queryset.annotate(benefit_amount=amount, benefit_reason=reason).filter(
        benefit_amount__isnull=False
    )


def _not_with(programme: Programme, first: date) -> list[Programme]:
    """The current programmes this one is not paid together with, those that pay in the period."""
    codes_named = programme.rule.get("not_with") or []
    if not codes_named:
        return []
    others = list(Programme.objects.filter(is_current=True, code__in=codes_named, target=programme.target))
    missing = set(codes_named) - {o.code for o in others}
    if missing:
        raise Conflict(
            f"补贴项目 {programme.code} 的组合规则引用了未加载的项目：{'、'.join(sorted(missing))}",
            field="programme",
        )
    _, last = packs.month_bounds(first)
    return [other for other in others if _applies(other, first, last)]


def _reason(programme: Programme, label: str) -> str:
    return f"{programme.name}（v{programme.version}）" + (f"：{label}" if label else "")


def _param(sql_type: str) -> str:
    # PostgreSQL wants the constants' types in INSERT … SELECT; SQLite's CAST would turn a date into a number.
    return "%s" if connection.vendor == "sqlite" else f"CAST(%s AS {sql_type})"


def _delete(rows: Any) -> None:
    """DELETE … WHERE id IN (…) in one statement. QuerySet.delete() would first read every row to check
    the ledger entries protecting them, and only approved entitlements ever have one (the database's
    own foreign key from the ledger still refuses a wrong delete)."""
    sql, params = rows.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Entitlement._meta.db_table} WHERE id IN ({sql})", params)  # noqa: S608


def _ordered_beneficiaries(programme: Programme, first: date, region: str | None) -> Any:
    # In beneficiary order: the rows then go to the end of the unique key's range for the programme and
    # period instead of all over it.
    return beneficiaries(programme, first, region).order_by("pk")


def _write(
    programme: Programme, run: BenefitRun, first: date, region: str | None, evaluated: str | None = None
) -> int:
    """Replace the programme's draft entitlements for the period with a fresh computation; reviewed,
    approved and paid ones stay and are not computed again. Returns the rows written. `evaluated`: the
    table holding the programme's beneficiaries already evaluated (ahead.py; SQLite), instead of
    evaluating them in the statement."""
    existing = periods.regular_rows(first, region=region or "", programme=programme.code).filter(
        target=programme.target
    )
    _delete(existing.filter(state=Entitlement.State.DRAFT))
    # Whoever still has a row of the programme for the period after that delete is not computed again:
    # a regular entitlement reviewed, approved or paid, or a back-pay already written for the month.
    if evaluated is None:
        locked = Entitlement.objects.filter(
            period=first,
            programme_code=programme.code,
            target=programme.target,
            beneficiary_id=OuterRef("pk"),
        )
        select = _ordered_beneficiaries(programme, first, region).exclude(Exists(locked))
        return _insert(select, programme, run, first, Entitlement.Kind.REGULAR)
    table = Entitlement._meta.db_table
    sql = (
        f"SELECT r.beneficiary_id, r.region_code, r.amount, r.reason FROM {evaluated} r"  # noqa: S608 - names are ours
        f" WHERE NOT EXISTS (SELECT 1 FROM {table} e WHERE e.period = %s AND e.programme_code = %s"
        " AND e.target = %s AND e.beneficiary_id = r.beneficiary_id) ORDER BY r.beneficiary_id"
    )
    params = [connection.ops.adapt_datefield_value(first), programme.code, programme.target]
    return _insert_rows(sql, params, programme, run, first, Entitlement.Kind.REGULAR)


def _insert(select: Any, programme: Programme, run: BenefitRun, period: date, kind: str) -> int:
    """INSERT … SELECT of (beneficiary, region, amount, reason) rows as draft entitlements of a kind."""
    sql, params = select.query.sql_with_params()
    return _insert_rows(sql, params, programme, run, period, kind)


def _insert_rows(
    sql: str, params: Any, programme: Programme, run: BenefitRun, period: date, kind: str
) -> int:
    """INSERT … SELECT of the rows of `sql` (beneficiary, region, amount, reason) as draft entitlements."""
    table = Entitlement._meta.db_table
    types = ("bigint", "varchar(80)", "varchar(10)", "date", "varchar(16)", "varchar(10)", "varchar(10)")
    constants = ", ".join(_param(t) for t in (*types, "bigint", "timestamptz"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (beneficiary_id, region_code, amount, reason, programme_id, programme_code,"  # noqa: S608 - names are ours
            f" target, period, payment, state, kind, run_id, created_at) SELECT sub.*, {constants} FROM ({sql}) sub",
            [  # the constants come first in the statement, then the subquery's own parameters
                programme.pk,
                programme.code,
                programme.target,
                period,
                programme.payment,
                Entitlement.State.DRAFT,
                kind,
                run.pk,
                connection.ops.adapt_datetimefield_value(timezone.now()),
                *params,
            ],
        )
        return cursor.rowcount


BACKPAY_MONTHS = policy.define(
    "benefits.backpay_months", 6, "评估结果晚批准时最多补发的月数", minimum=0, maximum=24, unit="月"
)
BACKPAY_REASON = "补发（能力评估结果在该月计算后才批准）："


def _backpay(run: BenefitRun, first: date, region: str | None, chosen: list[Programme]) -> dict[str, Any]:
    """Back-pay for past months (DOMAIN.md §3): an assessment approved after a month was computed, whose
    result counts from a day in or before that month, can make the month owe more. For each of the last
    `benefits.backpay_months` months that has a finished run, and each elder programme that reads the
    level, the elders with such a late result get a back-pay entitlement in that month of what they are
    owed now less what that month already gave them (regular and earlier back-pay), when it is more.
    Months still in review (a draft regular entitlement) are left to their own re-run; a back-pay is
    written once per programme, elder and month. Set-based: one INSERT … SELECT per month and programme,
    over only the late-approved elders."""
    assessment = apps.get_model("assessments", "Assessment")
    money = DecimalField(max_digits=12, decimal_places=2)
    written, months = 0, []
    for back in range(policy.value(BACKPAY_MONTHS, on=first), 0, -1):
        year, month_index = divmod(first.year * 12 + first.month - 1 - back, 12)
        month = date(year, month_index + 1, 1)
        computed = BenefitRun.objects.filter(period=month, state=BenefitRun.State.DONE).aggregate(
            at=Max("created_at")
        )["at"]
        if computed is None:
            continue
        late = assessment.objects.filter(
            status=AssessmentStatus.EFFECTIVE,
            reviewed_at__gt=computed,
            valid_from__lte=month,
            valid_until__gte=month,
        )
        if not late.exists():
            continue
        _, month_last = packs.month_bounds(month)
        for programme in chosen:
            if programme.target != "elder" or not packs.reads_level(programme.rule):
                continue
            if not _applies(programme, month, month_last):
                continue
            given = Entitlement.objects.filter(
                period=month, programme_code=programme.code, target="elder", beneficiary_id=OuterRef("pk")
            )
            already = (
                given.exclude(kind=Entitlement.Kind.RECOVERY)
                .order_by()
                .values("beneficiary_id")
                .annotate(total=Sum("amount"))
                .values("total")
            )
            owed = (
                eligible(programme, month, region, reason_prefix=BACKPAY_REASON)
                .filter(pk__in=late.values("elder_id"))
                .exclude(Exists(given.filter(kind=Entitlement.Kind.REGULAR, state=Entitlement.State.DRAFT)))
                .exclude(Exists(given.filter(kind=Entitlement.Kind.BACKPAY)))
                .annotate(
                    already=Coalesce(
                        Subquery(already, output_field=money), Value(Decimal(0)), output_field=money
                    )
                )
                .filter(benefit_amount__gt=F("already"))
                .annotate(
                    difference=ExpressionWrapper(F("benefit_amount") - F("already"), output_field=money)
                )
                .values_list("pk", REGION_FIELD["elder"], "difference", "benefit_reason")
                .order_by("pk")
            )
            count = _insert(owed, programme, run, month, Entitlement.Kind.BACKPAY)
            if count:
                written += count
                months.append(f"{month:%Y-%m}")
    return {"rows": written, "months": sorted(set(months))}


@contextmanager
def _run_settings() -> Iterator[None]:
    """PostgreSQL: room to sort and hash a programme's rows in memory (the server's default work_mem,
    4 MB, sends a 200,000-row sort to disk). Set for the run's connection and put back afterwards.
    (SQLite's page cache and memory-mapped reads were measured too: no gain, so left as they are.)"""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW work_mem")
        previous = cursor.fetchone()[0]
        cursor.execute("SET work_mem = '64MB'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, false)", [previous])


@contextmanager
def _one_checkpoint() -> Iterator[None]:
    """On SQLite (WAL), copy the log back into the database once, when the run's last transaction
    commits, rather than after each programme's: the programmes write mostly the same index pages, so
    the copies after each commit repeat one another (a second at a million elders)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        previous = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {previous}")


def _other_connections_see_ours() -> bool:
    """Whether another connection now sees what this one committed, and may work beside it: not inside
    a transaction, and not on an in-memory SQLite database (the tests'), which locks whole tables
    between its connections."""
    if connection.in_atomic_block:
        return False
    if connection.vendor != "sqlite":
        return True
    name = str(connection.settings_dict["NAME"])
    return not (name == ":memory:" or "mode=memory" in name)


def _at_once(*jobs: Callable[[], Any]) -> list[Any]:
    """Run these read-only jobs at once, each in a thread with its own database connection (SQLite and
    psycopg let other threads run while the database works, so two cores share them), and return their
    results in order. Inside a transaction (a caller's atomic block, the tests' transactions) another
    connection would not see this one's uncommitted rows, so they then run one after the other here."""
    if not _other_connections_see_ours():
        return [job() for job in jobs]
    results: list[Any] = [None] * len(jobs)
    failures: list[BaseException] = []

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            results[index] = job()
        except BaseException as error:  # re-raised in the caller's thread
            failures.append(error)
        finally:
            connections.close_all()  # this thread's own connections

    threads = [threading.Thread(target=run, args=item, name="benefits-run") for item in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


def _checkpoint() -> None:
    """SQLite (WAL): copy the run's log into the database now, beside the run's last queries, instead of
    in the commit that follows them (_one_checkpoint put the copying off until the end of the run)."""
    if connection.vendor == "sqlite" and _other_connections_see_ours():
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


def benefits_run(
    *, actor: Any, period: date, programme: str | None = None, region: str | None = None
) -> BenefitRun:
    """Compute the period's entitlements for every current programme (or one), set-based; resumes an
    unfinished run of the same period and scope."""
    if is_person(actor):
        require_perm(actor, Perm.BENEFITS_RUN)
    first, last = packs.month_bounds(period)
    if region:
        region = codes.normalize(region, field="region")
    chosen = Programme.objects.filter(is_current=True).order_by("code")
    if programme:
        chosen = chosen.filter(code=programme)
        if not chosen.exists():
            raise InvalidInput(f"补贴项目“{programme}”不存在或未加载", field="programme")
    scope = {"programme": programme or "", "region": region or ""}
    run = (
        BenefitRun.objects.filter(period=first, state=BenefitRun.State.RUNNING, totals__scope=scope)
        .order_by("-id")
        .first()
    )
    if run is None:
        run = BenefitRun.objects.create(
            period=first,
            started_by=actor if is_person(actor) else None,
            totals={"scope": scope, "programmes": {}},
        )
    to_write = [
        item for item in chosen if item.code not in run.programmes_done and _applies(item, first, last)
    ]
    # SQLite: evaluated on two more connections while this one writes (ahead.py).
    ahead = (
        Ahead(to_write, _ordered_beneficiaries, first, region)
        if connection.vendor == "sqlite" and to_write and _other_connections_see_ours()
        else None
    )
    with _one_checkpoint(), _run_settings(), ahead or nullcontext():
        for item in to_write:
            evaluated = ahead.attach(item) if ahead else None  # waits for its evaluation
            try:
                with transaction.atomic():
                    # Two runs of the same month at once take turns per programme: the second waits
                    # here, then replaces the first's drafts with the same figures instead of colliding.
                    Programme.objects.select_for_update().filter(pk=item.pk).first()
                    _write(item, run, first, region, evaluated)
                    run.refresh_from_db()
                    run.programmes_done = [*run.programmes_done, item.code]
                    run.save(update_fields=["programmes_done", "updated_at"])
            finally:
                if ahead:
                    ahead.detach(item)
        if "backpay" not in run.totals:
            with transaction.atomic():
                backpay = _backpay(run, first, region, list(chosen))
                run.totals["backpay"] = backpay
                run.save(update_fields=["totals", "updated_at"])
        # The figures of the whole period in scope, from the table (so a resumed run counts the rows of
        # its earlier attempt too): per programme run, beneficiaries, amount and the changes since the
        # previous period.
        if connection.vendor == "postgresql":
            # Hundreds of thousands of rows are new since autovacuum last looked: without fresh
            # statistics PostgreSQL joins the two periods row by row (2.4 s instead of 0.75 s, measured).
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Entitlement._meta.db_table}")
        scope_filters = {"region": region or "", "programme": programme or ""}
        new_and_changed, stopped = periods.difference_queries(first, **scope_filters)
        figures, news, stops, _ = _at_once(
            lambda: periods.totals(first, **scope_filters), new_and_changed, stopped, _checkpoint
        )
        changes = periods.merge_differences(news, stops)
    with transaction.atomic():
        done = run.programmes_done
        run.totals["programmes"] = {
            code: figures.get(code, {"beneficiaries": 0, "amount": "0.00"}) for code in sorted(done)
        }
        run.totals["differences"] = {
            code: changes.get(code, {"new": 0, "stopped": 0, "changed": 0}) for code in sorted(done)
        }
        run.state = BenefitRun.State.DONE
        run.finished_at = timezone.now()
        run.save(update_fields=["totals", "state", "finished_at", "updated_at"])
        audit.record(
            actor,
            "benefits.run",
            run,
            region_code=region or "",
            after={"period": first, **scope, "backpay": run.totals.get("backpay", {})},
        )
    return run


@transaction.atomic
def entitlements_review(*, actor: Any, period: date, district: str) -> int:
    """A district confirms its computed entitlements for the period (区级审核): draft → reviewed."""
    if is_person(actor):
        require_perm(actor, Perm.BENEFITS_REVIEW)
    district = codes.normalize(district, field="district")
    if len(district) != 6:
        raise InvalidInput("请选择区县（6 位区划代码）", field="district")
    if is_person(actor):
        require_region(actor, district)
    first = period.replace(day=1)
    count = Entitlement.objects.filter(
        period=first, region_code__startswith=district, state=Entitlement.State.DRAFT
    ).update(state=Entitlement.State.REVIEWED)
    if not count:
        raise Conflict(f"{district} {first:%Y-%m} 没有待审核的补贴明细", field="district")
    audit.record(
        actor,
        "benefits.review",
        region_code=district,
        object_type="benefits.period",
        object_id=f"{first:%Y-%m}",
        after={"count": count},
    )
    return count


def entitlements_approve_check(*, actor: Any, period: date) -> None:
    """Whether the city may approve the period now: every district has reviewed, and something waits
    for approval. The page asks before queueing the approval; the approval asks again."""
    if is_person(actor):
        require_perm(actor, Perm.BENEFITS_APPROVE)
    first = period.replace(day=1)
    waiting = periods.districts_waiting(first)
    if waiting:
        raise Conflict(f"以下区县尚未审核：{'、'.join(waiting)}", field="period")
    if not Entitlement.objects.filter(period=first, state=Entitlement.State.REVIEWED).exists():
        raise Conflict(f"{first:%Y-%m} 没有待审批的补贴明细", field="period")


@transaction.atomic
def entitlements_approve(*, actor: Any, period: date) -> dict[str, Any]:
    """The city approves a period once every district has reviewed it (市级审批): reviewed → approved,
    and service-credit entitlements are added to the elders' service accounts, each exactly once."""
    first = period.replace(day=1)
    entitlements_approve_check(actor=actor, period=first)  # the permission, the districts, anything to do
    period_rows = Entitlement.objects.filter(period=first)
    approved = period_rows.filter(state=Entitlement.State.REVIEWED).update(state=Entitlement.State.APPROVED)
    if not approved:  # another approval of the period committed while this one waited for its rows
        raise Conflict(f"{first:%Y-%m} 没有待审批的补贴明细", field="period")
    credited = _credit_service_accounts(first)
    audit.record(
        actor,
        "benefits.approve",
        object_type="benefits.period",
        object_id=f"{first:%Y-%m}",
        after={"approved": approved, "credited": credited},
    )
    return {"approved": approved, "credited": credited}


def _credit_service_accounts(first: date) -> int:
    """Set-based: open the missing accounts, write one ledger entry per approved service-credit
    entitlement not yet credited, and add the period's credits to the balances."""
    credits = Entitlement.objects.filter(
        amount__gt=0,
        period=first,
        target="elder",
        payment="service_credit",
        state=Entitlement.State.APPROVED,
    )
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    holders, holders_params = credits.order_by().values("beneficiary_id").distinct().query.sql_with_params()
    with connection.cursor() as cursor:  # the accounts still missing, opened in one statement
        cursor.execute(
            f"INSERT INTO {ServiceAccount._meta.db_table} (elder_id, balance, updated_at)"  # noqa: S608
            f" SELECT sub.beneficiary_id, 0, {_param('timestamptz')} FROM ({holders}) sub"
            " WHERE true ON CONFLICT (elder_id) DO NOTHING",
            [stamp, *holders_params],
        )
    rows = credits.annotate(
        account=Subquery(ServiceAccount.objects.filter(elder_id=OuterRef("beneficiary_id")).values("pk")[:1])
    ).values_list("account", "amount", "pk", "reason")
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        # An entitlement already credited is skipped by the ledger's unique entitlement, not by reading
        # the ledger in the SELECT: PostgreSQL planned that read as a scan of the (at first empty) ledger
        # for every entitlement while this statement filled it, which is quadratic (hours at a million).
        # (`WHERE true` lets SQLite tell the upsert clause from a join's ON.)
        cursor.execute(
            f"INSERT INTO {LedgerEntry._meta.db_table} (account_id, amount, entitlement_id, note, reference,"  # noqa: S608 - names are ours
            f" created_at) SELECT sub.*, {_param('varchar(60)')}, {_param('timestamptz')} FROM ({sql}) sub"
            " WHERE true ON CONFLICT (entitlement_id) DO NOTHING",
            # stored the way the ORM stores it, so the filter on created_at below finds these rows
            ["", stamp, *params],
        )
        credited = cursor.rowcount
    # This call's entries share one `created_at`: the sums below add exactly them, once. One UPDATE … FROM
    # a grouped sum (both databases), instead of a correlated sum per account (8 s at a million elders).
    accounts, ledger = ServiceAccount._meta.db_table, LedgerEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {accounts} SET balance = {accounts}.balance + added.total, updated_at = %s"  # noqa: S608
            f" FROM (SELECT account_id, SUM(amount) AS total FROM {ledger} WHERE created_at = %s"
            f" AND entitlement_id IS NOT NULL GROUP BY account_id) added WHERE {accounts}.id = added.account_id",
            [stamp, stamp],
        )
    return credited


@transaction.atomic
def service_account_debit(
    *, actor: Any, elder_id: int, amount: Decimal, reference: str, note: str
) -> LedgerEntry:
    """Pay for a service from the elder's account, never below zero (the orders app calls it)."""
    amount = Decimal(amount)
    if amount <= 0:
        raise InvalidInput("扣款金额应大于 0", field="amount")
    account = ServiceAccount.objects.select_for_update().filter(elder_id=elder_id).first()
    if account is None or account.balance < amount:
        balance = account.balance if account else Decimal(0)
        raise Conflict(f"服务账户余额不足：余额 {balance} 元，需 {amount} 元", field="amount")
    ServiceAccount.objects.filter(pk=account.pk).update(balance=F("balance") - amount)
    entry = LedgerEntry.objects.create(
        account=account, amount=-amount, reference=reference[:60], note=note[:300], created_at=timezone.now()
    )
    audit.record(
        actor,
        "service_account.debit",
        entry,
        after={"elder": elder_id, "amount": amount, "reference": reference},
    )
    return entry


@transaction.atomic
def service_account_pay(
    *, actor: Any, elder_id: int, amount: Decimal, reference: str, note: str
) -> LedgerEntry | None:
    """Pay what the account can of `amount` (DOMAIN.md §5: the service account first, up to its balance,
    the rest self-paid). The account row is locked, so two payments at once never overdraw it; returns
    the debit entry, or None when the balance is zero."""
    amount = Decimal(amount)
    if amount <= 0:
        raise InvalidInput("扣款金额应大于 0", field="amount")
    account = ServiceAccount.objects.select_for_update().filter(elder_id=elder_id).first()
    if account is None or account.balance <= 0:
        return None
    return service_account_debit(
        actor=actor, elder_id=elder_id, amount=min(amount, account.balance), reference=reference, note=note
    )


@transaction.atomic
def service_account_refund(
    *, actor: Any, elder_id: int, amount: Decimal, reference: str, note: str
) -> LedgerEntry | None:
    """Give back a debit for a service found not to have been given (orders: a fraud flag confirmed).
    Once per reference: a second call finds the refund and writes nothing."""
    amount = Decimal(amount)
    if amount <= 0:
        raise InvalidInput("退回金额应大于 0", field="amount")
    account = ServiceAccount.objects.select_for_update().filter(elder_id=elder_id).first()
    if account is None:
        raise Conflict("该老人没有服务账户", field="elder")
    if LedgerEntry.objects.filter(account=account, reference=reference[:60], amount__gt=0).exists():
        return None
    ServiceAccount.objects.filter(pk=account.pk).update(balance=F("balance") + amount)
    entry = LedgerEntry.objects.create(
        account=account, amount=amount, reference=reference[:60], note=note[:300], created_at=timezone.now()
    )
    audit.record(
        actor,
        "service_account.refund",
        entry,
        after={"elder": elder_id, "amount": amount, "reference": reference},
    )
    return entry


@transaction.atomic
def bank_account_set(
    *, actor: Any, elder: Any, bank_name: str, account_name: str, account_number: str
) -> Any:
    """Register or change where an elder's cash benefits are paid (audited; the number is masked there)."""
    from yanglao.benefits.models import BankAccount

    if is_person(actor):
        require_perm(actor, Perm.ELDERS_EDIT)
        require_region(actor, elder.residence_region_id, hide=True)
    number = "".join(str(account_number or "").split())
    problems = []
    if not (bank_name or "").strip():
        problems.append({"field": "bank_name", "message": "请填写开户行"})
    if not (account_name or "").strip():
        problems.append({"field": "account_name", "message": "请填写户名"})
    if not number.isdigit() or not 12 <= len(number) <= 30:
        problems.append({"field": "account_number", "message": "账号应为 12～30 位数字"})
    if problems:
        raise InvalidInput(problems[0]["message"], field=problems[0]["field"], details=problems)
    account, created = BankAccount.objects.update_or_create(
        elder_id=elder.pk,
        defaults={
            "bank_name": bank_name.strip(),
            "account_name": account_name.strip(),
            "account_number": number,
        },
    )
    audit.record(
        actor,
        "benefits.bank_account",
        account,
        region_code=elder.residence_region_id,
        after={
            "elder": elder.pk,
            "bank": account.bank_name,
            "account": account.masked_number,
            "new": created,
        },
    )
    return account


@transaction.atomic
def entitlements_follow_life_event(*, event: Any) -> dict[str, int]:
    """A death or a move out of the city stops entitlements from the next month (DOMAIN.md §1, §3):
    unpaid ones of later months are withdrawn, and cash already approved or paid for them gets a
    recovery entitlement (追回, a negative amount) that goes through review and approval like any other.
    Correcting the event withdraws the recoveries not yet approved; the next run pays again."""
    from yanglao.registry.enums import EventKind

    elder_id = event.elder_id
    recoveries = Entitlement.objects.filter(
        target="elder", beneficiary_id=elder_id, kind=Entitlement.Kind.RECOVERY
    )
    if event.reverses_id:
        withdrawn, _ = recoveries.filter(state=Entitlement.State.DRAFT).delete()
        return {"withdrawn": withdrawn, "recovered": 0}
    if event.kind not in (EventKind.DEATH, EventKind.MOVE_OUT):
        return {"withdrawn": 0, "recovered": 0}
    first, last = packs.month_bounds(event.on)
    later = Entitlement.objects.filter(
        target="elder", beneficiary_id=elder_id, kind=Entitlement.Kind.REGULAR, period__gt=last
    )
    withdrawn, _ = later.filter(state__in=[Entitlement.State.DRAFT, Entitlement.State.REVIEWED]).delete()
    label = event.get_kind_display()
    now = timezone.now()
    made = []
    for paid in later.filter(state__in=[Entitlement.State.APPROVED, Entitlement.State.PAID], payment="cash"):
        if recoveries.filter(programme_code=paid.programme_code, period=paid.period).exists():
            continue
        made.append(
            Entitlement(
                programme_id=paid.programme_id,
                programme_code=paid.programme_code,
                target=paid.target,
                beneficiary_id=elder_id,
                region_code=paid.region_code,
                period=paid.period,
                amount=-paid.amount,
                reason=f"追回：老人于 {event.on} {label}，{paid.reason}"[:300],
                payment=paid.payment,
                kind=Entitlement.Kind.RECOVERY,
                created_at=now,
            )
        )
    Entitlement.objects.bulk_create(made)
    if withdrawn or made:
        audit.record(
            "life-events",
            "benefits.stop",
            object_type="registry.elder",
            object_id=elder_id,
            region_code=event.elder.residence_region_id,
            after={"withdrawn": withdrawn, "recoveries": len(made), "event": event.pk},
        )
    return {"withdrawn": withdrawn, "recovered": len(made)}
