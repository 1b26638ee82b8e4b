"""The monthly benefits run (issue 6): 1,000,000 generated elders, all four policy packs, one monthly
run (eligibility, amounts, entitlements written, differences from the previous period) in ≤ 15 s on
SQLite and on PostgreSQL on this 2-core machine, ≥ 100× a per-row ORM loop and ≥ 10× the same loop
with `bulk_create`.

Each database is prepared in a child process of its own (untimed):
- a fresh database (SQLite in a temporary data directory, WAL; PostgreSQL: a database of its own,
  created and dropped here), migrated, with Tianjin's divisions (regions_load root 1201);
- COUNT elders (elders_generate, seed 2026); a status mix drawn with numpy (seeded; shares assumed
  for the bench): 3 % living in an institution, 0.5 % in hospital, 1 % deceased, 0.3 % moved out;
- effective assessments (raw batched inserts) for 15 % of the elders and 70 % of those living in an
  institution, with a level drawn from intact 30 / mild 30 / moderate 20 / severe 12 / complete 8 %
  and validity windows of a year starting from 2025-10-15 to 2026-10-15, so some expire in October
  and some start in October;
- the demo facilities and providers (care workers, certificates), so the facility and worker
  programmes have someone to pay; the target is about the elder programmes (changde.care_worker_post
  pays nobody here: its region condition names Changde's two districts, not Tianjin's);
- the four packs of policies/ loaded with jurisdiction 1201, so every city's rules apply to the
  Tianjin population (as the issue intends);
- the previous period (2026-10) run, then a month's churn: 0.2 % of living elders die in October,
  0.1 % move into an institution, 0.5 % of the assessed are re-assessed at another level.

Baselines (timed, on the first SAMPLE elders by id, default 20,000; their figures are scaled
linearly to COUNT, and the output says so): (1) a per-row ORM loop: the current programmes read from
the database, each elder programme's rule evaluated in Python by the small evaluator below (the
condition language of conditions.py and the amount rules of packs.py: ages on the period's first
day, levels from effective assessments, the first amount row that holds, never paying deceased or
moved-out elders, the jurisdiction, the programme's validity and frequency, `not_with`), and
`Entitlement.objects.create()` for each entitlement; (2) the same loop collecting the entitlements
and writing them with `bulk_create(batch_size=2000)`. Both as the issue states them: for each elder its
level is read through the ORM when a rule asks for it, and create() runs in Django's default
autocommit; the targets are judged against these two. For comparison the output also gives the same
two loops helped (the levels read once into a dict, the whole loop in one transaction). All four read
only the columns the rules read and compute no differences from the previous period, which the fast
path's time includes. Their rows are deleted after counting.

Then the fast path (timed): `benefits_run(period=2026-11)` over the whole population; the run itself
computes the differences from the previous period (new / stopped / changed per programme) and keeps
them in its totals, which the output prints. Per-programme seconds come from timing each call of
services._write. Agreement: on the sample, per elder programme, the count and the sum of the amounts
of the baseline's entitlements and of the fast path's, and the rows themselves (beneficiary, amount,
reason), must be equal: PASS/FAIL.

After the fast path, timed apart: every district's review and the city's approval (which credits the
service accounts), then every district's payment roster (xlsx) and bank file (csv); 40 % of the
elders have a registered bank account (setup), so the bank files have rows and leave some out.

PostgreSQL: DATABASE_URL-like `--pg URL` (default postgres://postgres@127.0.0.1:5432/
yanglao_bench_benefits); the database is created and dropped; skipped with a loud note when no
server answers, or with `--no-pg`.

The load average is printed beside the timed part: other work on this 2-core machine slows it.

    YANGLAO_ENV=test .venv/bin/python bench/bench_benefits_run.py [COUNT] [--sample N]
        [--pg URL | --no-pg] [--no-sqlite] [--no-baselines]
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from _harness import analyse, child, database_arguments, run_both, say, setup_timer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PREVIOUS = date(2026, 10, 1)
PERIOD = date(2026, 11, 1)
TARGET_SECONDS = 15.0
TARGET_VS_CREATE = 100.0
TARGET_VS_BULK = 10.0
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/yanglao_bench_benefits"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000, help="elders of the baselines (>= 20,000)")
    parser.add_argument("--no-baselines", action="store_true", help="fast path only")
    database_arguments(parser, DEFAULT_PG)
    return parser.parse_args()


# ======================================================================================================
# The child (_harness.child runs it): one database, prepared, baselines, fast path.
# ======================================================================================================


def stage(args: argparse.Namespace) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    from yanglao.benefits import services
    from yanglao.regions.services import regions_load
    from yanglao.registry import generator

    vendor = connection.vendor
    figures: dict[str, Any] = {"vendor": vendor, "count": args.count, "setup": {}}
    timed = setup_timer(figures["setup"], vendor)
    timed("migrate", lambda: call_command("migrate", verbosity=0))
    timed("divisions 1201", lambda: regions_load(actor="bench", root="1201"))
    timed("elders_generate", lambda: generator.elders_generate(actor="bench", count=args.count))
    ids = elder_ids()
    timed("statuses", lambda: statuses(ids))
    timed("assessments", lambda: assessments(ids))
    figures["others"] = timed("facilities and providers", facilities_and_workers)
    timed("bank accounts", lambda: bank_accounts(ids))
    timed(
        "policies_load",
        lambda: services.policies_load(actor="bench", path=ROOT / "policies", jurisdiction="1201"),
    )
    analyse()  # the registry was just written: PostgreSQL has no statistics yet
    previous = timed("run 2026-10", lambda: services.benefits_run(actor="bench", period=PREVIOUS))
    figures["previous"] = previous.totals["programmes"]
    timed("October churn", lambda: churn(ids))
    analyse()

    sample = min(args.sample, args.count)
    last_id = int(ids[sample - 1])
    figures["sample"] = sample
    if not args.no_baselines:
        figures["create"], create_rows = baseline(last_id, bulk=False, helped=False)
        say(f"  [{vendor}] baseline create(): {figures['create']['seconds']:.1f} s for {sample:,} elders")
        figures["bulk"], bulk_rows = baseline(last_id, bulk=True, helped=False)
        say(f"  [{vendor}] baseline bulk_create: {figures['bulk']['seconds']:.1f} s for {sample:,} elders")
        figures["create_helped"], helped_rows = baseline(last_id, bulk=False, helped=True)
        say(
            f"  [{vendor}] helped create(): {figures['create_helped']['seconds']:.1f} s for {sample:,} elders"
        )
        figures["bulk_helped"], bulk_helped_rows = baseline(last_id, bulk=True, helped=True)
        say(
            f"  [{vendor}] helped bulk_create: {figures['bulk_helped']['seconds']:.1f} s for {sample:,} elders"
        )
    figures["fast"] = fast_path()
    if not args.no_baselines:
        fast_rows = sample_rows(last_id)
        figures["agreement"] = {
            "totals_create": figures["create"]["totals"] == totals_of(fast_rows),
            "totals_bulk": figures["bulk"]["totals"] == totals_of(fast_rows),
            "rows_create": create_rows == fast_rows,
            "rows_bulk": bulk_rows == fast_rows,
            "rows_helped": helped_rows == fast_rows and bulk_helped_rows == fast_rows,
            "fast_sample_totals": totals_of(fast_rows),
        }
        if create_rows != fast_rows:
            only_baseline = sorted(create_rows - fast_rows)[:5]
            only_fast = sorted(fast_rows - create_rows)[:5]
            say(f"  [{vendor}] rows only in the baseline: {only_baseline}")
            say(f"  [{vendor}] rows only in the fast path: {only_fast}")
    figures["payments"] = payments()
    return figures


# --- setup ---------------------------------------------------------------------------------------------


def elder_ids() -> Any:
    import numpy as np
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM registry_elder ORDER BY id")
        return np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64)


def _update_status(rows: list[tuple[str, date, date | None, int]]) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), 10_000):
            cursor.executemany(
                "UPDATE registry_elder SET status = %s, status_since = %s, death_date = %s WHERE id = %s",
                rows[start : start + 10_000],
            )


STATUS_SHARES = [("in_institution", 0.03), ("in_hospital", 0.005), ("deceased", 0.01), ("moved_out", 0.003)]


def statuses(ids: Any) -> None:
    """A registry keeps people who died or left; some live in an institution or are in hospital."""
    import numpy as np

    rng = np.random.default_rng(61)
    draw = rng.random(len(ids))
    rows = []
    low = 0.0
    since = date(2025, 6, 1)
    for status, share in STATUS_SHARES:
        chosen = ids[(draw >= low) & (draw < low + share)]
        rows += [(status, since, since if status == "deceased" else None, int(i)) for i in chosen]
        low += share
    _update_status(rows)


LEVELS = [("intact", 0.30), ("mild", 0.30), ("moderate", 0.20), ("severe", 0.12), ("complete", 0.08)]
_ASSESSMENT_COLUMNS = (
    "created_at", "updated_at", "elder_id", "kind", "reason", "instrument", "status", "answers", "coma",
    "diagnoses", "risk_events", "place", "notes", "group_scores", "preliminary_level", "final_level",
    "level_label", "adjustments", "review_note", "cancel_reason", "status_before_cancel", "assessed_on",
    "valid_from", "valid_until", "total",
)  # fmt: skip


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1)


def assessments(ids: Any) -> None:
    """Effective results for 15 % of the elders (70 % of those in an institution), one per elder."""
    import numpy as np
    from django.db import connection, transaction
    from django.utils import timezone

    from yanglao.assessments.enums import Level

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM registry_elder WHERE status = 'in_institution'")
        institution = np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64)
    rng = np.random.default_rng(62)
    chosen = ids[rng.random(len(ids)) < 0.15]
    chosen = np.union1d(chosen, institution[rng.random(len(institution)) < 0.70])
    level_index = np.searchsorted(np.cumsum([share for _, share in LEVELS]), rng.random(len(chosen)))
    start_month = rng.integers(0, 13, len(chosen))  # 2025-10-15 … 2026-10-15
    totals = {"intact": 85, "mild": 60, "moderate": 45, "severe": 25, "complete": 5}
    now = timezone.now()
    rows = []
    for elder, level_at, month in zip(
        chosen.tolist(), level_index.tolist(), start_month.tolist(), strict=True
    ):
        level = LEVELS[min(level_at, len(LEVELS) - 1)][0]
        valid_from = _add_months(date(2025, 10, 15), month)
        valid_until = _add_months(valid_from, 12) - timedelta(days=1)
        rows.append(
            (now, now, elder, "first", "", "gbt42195-2022", "effective", "{}", False, "[]", "{}", "", "",
             "{}", level, level, str(Level(level).label), "[]", "", "", "",
             valid_from - timedelta(days=5), valid_from, valid_until, totals[level])
        )  # fmt: skip
    sql = (
        f"INSERT INTO assessments_assessment ({', '.join(_ASSESSMENT_COLUMNS)}) "  # noqa: S608 - our names
        f"VALUES ({', '.join(['%s'] * len(_ASSESSMENT_COLUMNS))})"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), 10_000):
            cursor.executemany(sql, rows[start : start + 10_000])


def facilities_and_workers() -> dict[str, int]:
    from yanglao.facilities.demo import demo_facilities
    from yanglao.facilities.models import Facility
    from yanglao.providers.demo import demo_providers
    from yanglao.providers.models import CareWorker

    try:
        demo_facilities(elders=20_000, root="1201")
    except Exception as error:  # noqa: BLE001 - a bench reports and goes on
        say(f"  NOTE: demo facilities not created ({error!r}); facility programmes pay nobody")
    try:
        demo_providers(root="1201")
    except Exception as error:  # noqa: BLE001
        say(f"  NOTE: demo providers not created ({error!r}); worker programmes pay nobody")
    return {"facilities": Facility.objects.count(), "workers": CareWorker.objects.count()}


def churn(ids: Any) -> None:
    """October's changes: deaths, moves into an institution, re-assessments at another level."""
    import numpy as np
    from django.db import connection, transaction

    rng = np.random.default_rng(63)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM registry_elder WHERE status = 'active' ORDER BY id")
        active = np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64)
        cursor.execute("SELECT id FROM assessments_assessment WHERE status = 'effective' ORDER BY id")
        assessed = np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64)
    draw = rng.random(len(active))
    died, admitted = active[draw < 0.002], active[(draw >= 0.002) & (draw < 0.003)]
    rows = [("deceased", date(2026, 10, 12), date(2026, 10, 12), int(i)) for i in died]
    rows += [("in_institution", date(2026, 10, 20), None, int(i)) for i in admitted]
    _update_status(rows)
    reassessed = assessed[rng.random(len(assessed)) < 0.005]
    names = [name for name, _ in LEVELS]
    new_levels = rng.integers(0, len(names), len(reassessed))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE assessments_assessment SET final_level = %s, valid_from = %s, valid_until = %s WHERE id = %s",
            [
                (names[level], date(2026, 10, 20), date(2027, 10, 19), int(i))
                for i, level in zip(reassessed.tolist(), new_levels.tolist(), strict=True)
            ],
        )


# --- the baseline: a Python evaluator of the condition language and the amount rules --------------------


def _age(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@functools.cache
def _range(prefix: str) -> tuple[str, str | None]:
    from yanglao.regions import codes

    return codes.code_range(codes.normalize(prefix))


def _within(code: str, prefix: str) -> bool:
    low, high = _range(prefix)
    return code >= low and (high is None or code < high)


_HARDSHIP = ("destitute", "subsistence", "near_subsistence", "low_income")


def _gugua(e: Any, day: date) -> bool:
    return e.marital_status in ("widowed", "divorced", "unmarried") and e.children_count == 0


def _band(low: int, high: int | None) -> Callable[[Any, date], bool]:
    return lambda e, day: low <= _age(e.birth_date, day) and (high is None or _age(e.birth_date, day) <= high)


GROUPS: dict[str, Callable[[Any, date], bool]] = {
    "age_60_69": _band(60, 69),
    "age_70_79": _band(70, 79),
    "age_80_89": _band(80, 89),
    "age_90_99": _band(90, 99),
    "age_100": _band(100, None),
    "gaoling": _band(80, None),
    "laolaoren": lambda e, d: _age(e.birth_date, d) >= 80 or e.disability_grade in (1, 2) or e.dementia,
    "alone": lambda e, d: e.living_arrangement == "alone",
    "empty_nest": lambda e, d: e.living_arrangement == "empty_nest",
    "left_behind": lambda e, d: e.living_arrangement == "left_behind",
    "gugua": _gugua,
    "special_family": lambda e, d: e.special_family,
    "disabled": lambda e, d: e.disability_grade is not None,
    "dementia": lambda e, d: e.dementia,
    "special_hardship": lambda e, d: e.economic_status in _HARDSHIP or e.special_family or _gugua(e, d),
}
_CHOICES = ("status", "economic_status", "living_arrangement", "sex", "marital_status", "disability_category")


def holds(condition: dict[str, Any], e: Any, day: date, levels: dict[int, str]) -> bool:
    """conditions.py's language for elders, in Python."""
    ((key, value),) = condition.items()
    if key == "all":
        return all(holds(c, e, day, levels) for c in value)
    if key == "any":
        return any(holds(c, e, day, levels) for c in value)
    if key == "not":
        return not holds(value, e, day, levels)
    if key in _CHOICES:
        return getattr(e, key) in value
    if key in ("special_family", "dementia"):
        return getattr(e, key) == value
    if key == "disability_grade":
        return e.disability_grade in value
    if key == "group":
        return all(GROUPS[g](e, day) for g in value)
    if key == "age_at_least":
        return _age(e.birth_date, day) >= value
    if key == "age_at_most":
        return _age(e.birth_date, day) <= value
    if key == "level":
        return levels.get(e.pk) in value
    if key == "region":
        return any(_within(e.residence_region_id, str(v)) for v in value)
    raise ValueError(f"unknown condition {key!r}")


def _aged(low: int, high: int | None) -> Callable[[Any, date, dict[int, str]], bool]:
    return lambda e, d, lv: low <= _age(e.birth_date, d) and (high is None or _age(e.birth_date, d) <= high)


def amount_rows(
    rule: dict[str, Any],
) -> list[tuple[Callable[[Any, date, dict[int, str]], bool], Decimal, str]]:
    """packs.py's amount rules for elders: (test, amount, label); the first row that holds applies."""
    from yanglao.assessments.enums import Level

    ((kind, value),) = rule.items()
    if kind == "fixed":
        return [(lambda e, d, lv: True, Decimal(str(value)), "")]
    if kind == "table":
        return [
            (
                lambda e, d, lv, w=row["when"]: holds(w, e, d, lv),
                Decimal(str(row["amount"])),
                str(row.get("label", "")),
            )
            for row in value
        ]
    if kind == "by_level":
        return [
            (lambda e, d, lv, k=level: lv.get(e.pk) == k, Decimal(str(amount)), str(Level(level).label))
            for level, amount in value.items()
        ]
    if kind == "by_age":
        return [
            (
                _aged(row["from"], row.get("to")),
                Decimal(str(row["amount"])),
                f"{row['from']}–{row['to']}岁" if row.get("to") is not None else f"{row['from']}岁及以上",
            )
            for row in value
        ]
    raise ValueError(f"amount rule {kind!r} is not for elders")


ELDER_FIELDS = (
    "birth_date", "residence_region_id", "status", "economic_status", "living_arrangement", "sex",
    "marital_status", "children_count", "special_family", "disability_category", "disability_grade",
    "dementia",
)  # fmt: skip


class LevelPerElder(dict):
    """The literal loop's levels: the elder's effective level read through the ORM when a rule first
    asks for it (once per elder), as a per-row loop over elders does."""

    def __init__(self, on: date) -> None:
        super().__init__()
        self.on = on

    def get(self, elder_id: Any, default: Any = None) -> Any:
        from yanglao.assessments.selectors import effective_levels

        if elder_id not in self:
            found = (
                effective_levels(on=self.on).filter(elder_id=elder_id).values_list("final_level", flat=True)
            )
            self.clear()  # one elder at a time
            self[elder_id] = found.first()
        return dict.get(self, elder_id, default)


def baseline(last_id: int, *, bulk: bool, helped: bool) -> tuple[dict[str, Any], set[tuple]]:
    """For each elder of the sample: every elder programme's rule in Python, then create() (or collect
    for bulk_create) its entitlement. Timed; the rows are read back, counted and deleted.

    Literal (helped=False), as the issue states it: the level read through the ORM per elder when a
    rule asks, create() in Django's default autocommit. Helped: the levels read once into a dict, and
    the whole loop in one transaction."""
    from contextlib import nullcontext

    from django.db import transaction
    from django.utils import timezone

    from yanglao.assessments.selectors import effective_levels
    from yanglao.benefits.models import Entitlement, Programme
    from yanglao.registry.models import Elder

    started = time.perf_counter()
    first = PERIOD
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    with transaction.atomic() if helped else nullcontext():
        programmes = []
        for p in Programme.objects.filter(is_current=True, target="elder").order_by("code"):
            if p.valid_from > last or (p.valid_until and p.valid_until < first):
                continue
            if p.frequency == "yearly" and first.month != p.pay_month:
                continue
            paid_before = (
                set(
                    Entitlement.objects.filter(programme_code=p.code, target="elder").values_list(
                        "beneficiary_id", flat=True
                    )
                )
                if p.frequency == "once"
                else set()
            )
            reason = f"{p.name}（v{p.version}）"
            programmes.append((p, paid_before, amount_rows(p.rule["amount"]), reason))
        # A programme with `not_with` comes after the programmes it names, and is not paid to an elder
        # they paid (the packs have no circles).
        programmes.sort(key=lambda item: bool(item[0].rule.get("not_with")))
        levels: dict[int, str] = (
            dict(
                effective_levels(on=first)
                .filter(elder_id__lte=last_id)
                .values_list("elder_id", "final_level")
            )
            if helped
            else LevelPerElder(first)
        )
        now = timezone.now()
        collected = []
        elders = Elder.objects.filter(pk__lte=last_id).only(*ELDER_FIELDS).order_by("pk")
        for elder in elders.iterator(chunk_size=2000):
            if elder.status in ("deceased", "moved_out"):
                continue
            paid_now: set[str] = set()
            for p, paid_before, rows, reason in programmes:
                if not _within(elder.residence_region_id, p.jurisdiction) or elder.pk in paid_before:
                    continue
                if paid_now.intersection(p.rule.get("not_with", [])):
                    continue
                if not holds(p.rule["eligibility"], elder, first, levels):
                    continue
                for test, amount, label in rows:
                    if test(elder, first, levels):
                        fields = {
                            "programme_id": p.pk,
                            "programme_code": p.code,
                            "target": "elder",
                            "beneficiary_id": elder.pk,
                            "region_code": elder.residence_region_id,
                            "period": first,
                            "amount": amount,
                            "reason": reason + (f"：{label}" if label else ""),
                            "payment": p.payment,
                            "state": Entitlement.State.DRAFT,
                            "created_at": now,
                        }
                        if bulk:
                            collected.append(Entitlement(**fields))
                        else:
                            Entitlement.objects.create(**fields)
                        paid_now.add(p.code)
                        break
        if bulk:
            Entitlement.objects.bulk_create(collected, batch_size=2000)
    seconds = time.perf_counter() - started
    rows = sample_rows(last_id)
    Entitlement.objects.filter(period=PERIOD).delete()
    return {"seconds": seconds, "totals": totals_of(rows), "written": len(rows)}, rows


def sample_rows(last_id: int) -> set[tuple]:
    from yanglao.benefits.models import Entitlement

    return {
        (code, beneficiary, str(amount), reason)
        for code, beneficiary, amount, reason in Entitlement.objects.filter(
            period=PERIOD, target="elder", beneficiary_id__lte=last_id
        ).values_list("programme_code", "beneficiary_id", "amount", "reason")
    }


def totals_of(rows: set[tuple]) -> dict[str, list]:
    found: dict[str, list] = {}
    for code, _beneficiary, amount, _reason in rows:
        count, total = found.get(code, [0, "0"])
        found[code] = [count + 1, str(Decimal(total) + Decimal(amount))]
    return dict(sorted(found.items()))


# --- the fast path ---------------------------------------------------------------------------------


def fast_path() -> dict[str, Any]:
    """benefits_run(2026-11), timed: eligibility, amounts and reasons, entitlements written, and the
    differences from the previous period, which the run computes and keeps in its totals."""
    from django.db import connection

    from yanglao.benefits import services
    from yanglao.benefits.models import Entitlement

    per_programme: dict[str, float] = {}
    write = services._write

    def timed_write(programme: Any, *rest: Any) -> int:
        started = time.perf_counter()
        try:
            return write(programme, *rest)
        finally:
            per_programme[programme.code] = time.perf_counter() - started

    load_before = os.getloadavg()
    services._write = timed_write  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        run = services.benefits_run(actor="bench", period=PERIOD)
        seconds = time.perf_counter() - started
    finally:
        services._write = write  # type: ignore[assignment]
    load_after = os.getloadavg()
    connection.close()
    return {
        "seconds": seconds,
        "written_seconds": sum(per_programme.values()),
        "written": Entitlement.objects.filter(period=PERIOD).count(),
        "programmes": run.totals["programmes"],
        "differences": run.totals["differences"],
        "per_programme": per_programme,
        "load": [round(load_before[0], 2), round(load_after[0], 2)],
    }


def bank_accounts(ids: Any) -> None:
    """A registered bank account (发放账户) for 40 % of the elders, so the bank files have rows."""
    import numpy as np

    from yanglao.benefits.models import BankAccount

    rng = np.random.default_rng(64)
    chosen = ids[rng.random(len(ids)) < 0.40].tolist()
    for start in range(0, len(chosen), 20_000):
        BankAccount.objects.bulk_create(
            [
                BankAccount(
                    elder_id=elder,
                    bank_name="天津银行",
                    account_name="持卡人",
                    account_number=f"6217{elder:015d}",
                )
                for elder in chosen[start : start + 20_000]
            ],
            batch_size=2000,
        )


def payments() -> dict[str, Any]:
    """After the run: every district reviews, the city approves (timed apart), then every district's
    payment roster (xlsx) and bank file (csv) are made, each kind timed on its own."""
    from yanglao.benefits import payments as pay
    from yanglao.benefits import services
    from yanglao.benefits.models import Entitlement

    districts = sorted(
        {code[:6] for code in Entitlement.objects.filter(period=PERIOD).values_list("region_code", flat=True)}
    )
    started = time.perf_counter()
    for district in districts:
        services.entitlements_review(actor="bench", period=PERIOD, district=district)
    approved = services.entitlements_approve(actor="bench", period=PERIOD)
    approve_seconds = time.perf_counter() - started
    started = time.perf_counter()
    roster_rows, roster_bytes = 0, 0
    for district in districts:
        content, count, _total = pay.roster_workbook(actor="bench", period=PERIOD, district=district)
        roster_rows += count
        roster_bytes += len(content)
    roster_seconds = time.perf_counter() - started
    started = time.perf_counter()
    bank_rows, missing = 0, 0
    for district in districts:
        _text, written, left_out = pay.bank_file(actor="bench", period=PERIOD, district=district)
        bank_rows += written
        missing += left_out
    bank_seconds = time.perf_counter() - started
    return {
        "districts": len(districts),
        "approve_seconds": approve_seconds,
        "approved": approved,
        "roster_seconds": roster_seconds,
        "roster_rows": roster_rows,
        "roster_mb": round(roster_bytes / 1e6, 1),
        "bank_seconds": bank_seconds,
        "bank_rows": bank_rows,
        "bank_missing": missing,
    }


# ======================================================================================================
# The parent: runs the children, prints the figures.
# ======================================================================================================


def child_arguments(args: argparse.Namespace) -> list[str]:
    """The options the parent passes on to each child."""
    return [str(args.count), "--sample", str(args.sample)] + (["--no-baselines"] if args.no_baselines else [])


def _n(value: Any) -> str:
    return f"{value:>7,}" if isinstance(value, int) else f"{value:>7}"


def report(figures: dict[str, Any], label: str) -> list[str]:
    """The figures of one database; returns its failed targets."""
    misses = []
    fast = figures["fast"]
    count = figures["count"]
    print(f"\n== {label}: {count:,} elders, {figures['others']['facilities']} facilities, "
          f"{figures['others']['workers']} care workers, {os.cpu_count()} cores")  # fmt: skip
    print("setup (untimed): " + ", ".join(f"{k} {v} s" for k, v in figures["setup"].items()))
    print(f"{'programme':34} {'entitlements':>12} {'amount (yuan)':>16} {'write s':>8} "
          f"{'new':>7} {'stopped':>7} {'changed':>7}")  # fmt: skip
    for code, totals in sorted(fast["programmes"].items()):
        diff = fast["differences"].get(code, {})
        print(
            f"{code:34} {totals['beneficiaries']:>12,} {Decimal(totals['amount']):>16,.2f} "
            f"{fast['per_programme'].get(code, 0):>8.2f} {diff.get('new', 0):>7,} {diff.get('stopped', 0):>7,} "
            f"{diff.get('changed', 0):>7,}"
        )
    ok = fast["seconds"] <= TARGET_SECONDS
    misses += [] if ok else [f"{label} fast path {fast['seconds']:.1f} s > {TARGET_SECONDS:.0f} s"]
    print(
        f"fast path, benefits_run(2026-11) with the differences from 2026-10: {fast['seconds']:.1f} s "
        f"(of which writing the programmes {fast['written_seconds']:.1f} s; totals, statistics and "
        f"differences the rest), {fast['written']:,} entitlements written   target <= {TARGET_SECONDS:.0f} s: "
        f"{'met' if ok else '!!! MISSED !!!'}"
    )
    print(
        f"    load average (1 min) before / after the timed part: {fast['load'][0]} / {fast['load'][1]} "
        "(other work on the machine slows every figure)"
    )
    if "create" in figures:
        sample = figures["sample"]
        for key, name, target in (
            ("create", "per-row ORM loop, create() each", TARGET_VS_CREATE),
            ("bulk", "the same loop with bulk_create", TARGET_VS_BULK),
        ):
            measured = figures[key]["seconds"]
            scaled = measured * count / sample
            ratio = scaled / fast["seconds"]
            met = ratio >= target
            misses += [] if met else [f"{label} {ratio:.0f}x vs {key} < {target:.0f}x"]
            print(
                f"baseline {name}: {measured:.1f} s for the first {sample:,} elders "
                f"({figures[key]['written']:,} entitlements), scaled linearly to {count:,}: {scaled:,.0f} s; "
                f"ratio {ratio:,.0f}x   target >= {target:.0f}x: {'met' if met else '!!! MISSED !!!'}"
            )
        for key, name in (
            ("create_helped", "create() each, helped"),
            ("bulk_helped", "bulk_create, helped"),
        ):
            measured = figures[key]["seconds"]
            scaled = measured * count / sample
            print(
                f"    for comparison, the loop {name} (levels read once into a dict, one transaction): "
                f"{measured:.1f} s for {sample:,}, scaled {scaled:,.0f} s; ratio {scaled / fast['seconds']:,.0f}x"
            )
        print("    (no baseline computes the differences; the fast path's time includes them)")
        agreement = figures["agreement"]
        agreed = all(
            agreement[k] for k in ("totals_create", "totals_bulk", "rows_create", "rows_bulk", "rows_helped")
        )
        misses += [] if agreed else [f"{label} baseline and fast path disagree"]
        print(
            f"agreement on the {sample:,}-elder sample (per elder programme: count and sum; and every row "
            f"beneficiary/amount/reason), fast path vs create() and vs bulk_create: {'PASS' if agreed else 'FAIL'}"
        )
        for code, (heads, amount) in agreement["fast_sample_totals"].items():
            print(f"    {code:34} {heads:>8,} {Decimal(amount):>14,.2f}")
    paid = figures["payments"]
    print(
        f"after the run (timed apart): review by {paid['districts']} districts and city approval "
        f"{paid['approve_seconds']:.1f} s ({paid['approved']['approved']:,} approved, "
        f"{paid['approved']['credited']:,} service-account credits)"
    )
    print(
        f"    payment rosters (花名册, xlsx), every district: {paid['roster_seconds']:.1f} s for "
        f"{paid['roster_rows']:,} rows ({paid['roster_mb']} MB)"
    )
    print(
        f"    bank files (银行代发, csv), every district: {paid['bank_seconds']:.1f} s for {paid['bank_rows']:,} "
        f"rows ({paid['bank_missing']:,} entitlements of elders without a registered account left out)"
    )
    return misses


def main() -> None:
    args = arguments()
    if args.child:
        child(args, stage)
        return
    if args.sample < 20_000 and args.count >= 20_000:
        raise SystemExit("--sample must be at least 20,000 (the issue's smallest baseline sample)")
    print(
        f"bench_benefits_run: {args.count:,} elders, baselines on the first {min(args.sample, args.count):,}"
    )
    run_both(args, __file__, child_arguments(args), report)


if __name__ == "__main__":
    main()
