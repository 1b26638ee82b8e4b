"""The functions commands and the demo call: elders_generate (draw, number, encrypt and write a
population in batches, one transaction each, with its audit record), elders_under and demo_population
(the demo step that tops the registry up). They run the other modules in the order a run needs;
the drawing, numbering and writing themselves live in those modules."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from yanglao.core import audit, crypto, idcard
from yanglao.core.errors import InvalidInput
from yanglao.regions import codes
from yanglao.registry.enums import Sex, Status
from yanglao.registry.generator.idnumbers import _existing_counts, _Renumber, _taken_hashes, sequence_numbers
from yanglao.registry.generator.places import places_under
from yanglao.registry.generator.population import (
    DISABILITY_CODES,
    ECONOMIC_CODES,
    LIVING,
    MARITAL,
    population_draw,
)
from yanglao.registry.generator.shape import FEMALE_NAMES, MALE_NAMES, SURNAMES
from yanglao.registry.generator.writing import (
    _ELDER_COLUMNS,
    _HOUSEHOLD_COLUMNS,
    HOUSEHOLD_NOTE,
    _check_columns,
    _insert,
    _reserve_household_ids,
    _sqlite_cache,
)
from yanglao.registry.models import Elder, Household

Progress = Callable[[int, int], None]


def elders_generate(
    *,
    actor: Any,
    count: int,
    seed: int = 2026,
    root: str = "1201",
    batch: int = 50_000,
    progress: Progress | None = None,
) -> int:
    """Add `count` synthetic elders (a demo population) under `root`, deterministic for a seed, with
    valid unique ID numbers of the elder's district (GB 11643). Never for production data."""
    if count < 0:
        raise InvalidInput("生成数量不能为负数", field="count")
    if batch < 1:
        raise InvalidInput("批次大小至少为1", field="batch")
    root = codes.normalize(root, field="root")
    _check_columns()
    if count == 0:
        return 0
    started = time.monotonic()
    today = timezone.localdate()
    places = places_under(root)
    population = population_draw(places, count, seed=seed, today=today)
    registry_had_rows = Elder.objects.exists()
    existing = _existing_counts(root, places.district_codes) if registry_had_rows else None
    sequence, group_key = sequence_numbers(population, places, existing)

    now = connection.ops.adapt_datetimefield_value(timezone.now())
    since = connection.ops.adapt_datefield_value(today)
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    district_codes = np.array(places.district_codes)[places.district[population.community]]
    community_codes = places.codes[population.community]
    hukou_codes = places.codes[population.hukou]
    births = population.birth_day.astype("datetime64[D]")
    iso = np.datetime_as_string(births, unit="D")
    compact = np.char.replace(iso, "-", "")
    names = np.char.add(
        np.array(list(SURNAMES))[population.surname],
        np.where(
            population.male,
            np.array(MALE_NAMES)[np.minimum(population.given, len(MALE_NAMES) - 1)],
            np.array(FEMALE_NAMES)[np.minimum(population.given, len(FEMALE_NAMES) - 1)],
        ),
    )
    sex = np.where(population.male, Sex.MALE.value, Sex.FEMALE.value)
    marital = np.array([m.value for m in MARITAL])[population.marital]
    living = np.array([m.value for m in LIVING])[population.living]
    economic = np.array([e.value for e in ECONOMIC_CODES])[population.economic]
    category = np.array(["", *(c.value for c in DISABILITY_CODES)])[population.disability_category + 1]
    household_ids = np.zeros(population.households, dtype=np.int64)
    renumber = _Renumber()
    previous_cache = _sqlite_cache(-262_144)  # 256 MiB
    done = households_made = 0
    try:
        for lo in range(0, count, batch):
            hi = min(lo + batch, count)
            first17 = [
                f"{d}{b}{s:03d}"
                for d, b, s in zip(
                    district_codes[lo:hi].tolist(),
                    compact[lo:hi].tolist(),
                    sequence[lo:hi].tolist(),
                    strict=True,
                )
            ]
            numbers = [x + idcard.check_character(x) for x in first17]
            digests = [crypto.lookup_hash(x) for x in numbers]
            mobiles = population.mobile[lo:hi].tolist()
            phones = [str(m) if m else "" for m in mobiles]
            with transaction.atomic():
                if registry_had_rows:  # else nothing but this run's own, unique numbers
                    taken = _taken_hashes(digests)
                    if taken:
                        used = set(digests)
                        for i, digest in enumerate(digests):
                            if digest in taken:
                                numbers[i], digests[i] = renumber.free_number(
                                    first17[i],
                                    int(group_key[lo + i]),
                                    bool(population.male[lo + i]),
                                    used,
                                )
                                used.add(digests[i])
                # Households whose first member is in this batch.
                hh = population.household[lo:hi]
                new = np.flatnonzero(np.concatenate(([True], hh[1:] != hh[:-1])))
                if lo > 0 and hh[0] == population.household[lo - 1]:
                    new = new[1:]  # the couple's household was made with the previous batch
                ids = _reserve_household_ids(len(new))
                household_ids[hh[new]] = ids
                labels = [places.labels[c] for c in population.community[lo:hi].tolist()]
                urban = places.urban[population.community[lo:hi]].tolist()
                addresses = [
                    f"{label}{b}号院{u}号楼{r}室" if city else f"{label}{b * 10 + u}号"
                    for label, city, b, u, r in zip(
                        labels,
                        urban,
                        population.building[lo:hi].tolist(),
                        population.unit[lo:hi].tolist(),
                        population.room[lo:hi].tolist(),
                        strict=True,
                    )
                ]
                regions = community_codes[lo:hi].tolist()
                _insert(
                    Household._meta.db_table,
                    _HOUSEHOLD_COLUMNS,
                    [(ids[j], now, now, regions[i], addresses[i], HOUSEHOLD_NOTE) for j, i in enumerate(new)],
                )
                households_made += len(new)
                grades = population.disability_grade[lo:hi].tolist()
                rows = list(
                    zip(
                        [now] * (hi - lo),
                        [now] * (hi - lo),
                        names[lo:hi].tolist(),
                        [crypto.encrypt(x) for x in numbers],
                        digests,
                        iso[lo:hi].tolist(),
                        sex[lo:hi].tolist(),
                        [crypto.encrypt(p) if p else "" for p in phones],
                        [crypto.lookup_hash(p) if p else "" for p in phones],
                        regions,
                        hukou_codes[lo:hi].tolist(),
                        addresses,
                        [None if v != v else v for v in population.latitude[lo:hi].tolist()],
                        [None if v != v else v for v in population.longitude[lo:hi].tolist()],
                        household_ids[hh].tolist(),
                        living[lo:hi].tolist(),
                        economic[lo:hi].tolist(),
                        marital[lo:hi].tolist(),
                        population.children[lo:hi].tolist(),
                        population.special_family[lo:hi].tolist(),
                        category[lo:hi].tolist(),
                        [g or None for g in grades],
                        population.dementia[lo:hi].tolist(),
                        [""] * (hi - lo),
                        [Status.ACTIVE.value] * (hi - lo),
                        [since] * (hi - lo),
                        [None] * (hi - lo),
                        [actor_id] * (hi - lo),
                        strict=True,
                    )
                )
                _insert(Elder._meta.db_table, _ELDER_COLUMNS, rows)
            done = hi
            if progress is not None:
                progress(done, count)
    finally:
        _sqlite_cache(previous_cache)
    with transaction.atomic():
        audit.record(
            actor,
            "elder.generate",
            object_type=Elder._meta.label_lower,
            object_id=root,
            region_code=root,
            after={
                "count": done,
                "households": households_made,
                "seed": seed,
                "root": root,
                "renumbered": sum(v - 1 for v in renumber.next_extra.values()),
                "seconds": round(time.monotonic() - started, 1),
            },
        )
    return done


def elders_under(root: str) -> int:
    """How many elders the registry holds under `root` (all statuses)."""
    return Elder.objects.filter(
        codes.within(codes.normalize(root, field="root"), "residence_region_id")
    ).count()


def demo_population(*, elders: int = 20_000, root: str = "1201", stdout: Any = None, **options: Any) -> int:
    """The demo step: top the registry up to `elders` under `root`; a second run adds nothing."""
    have = elders_under(root)
    missing = max(0, elders - have)
    if missing:
        elders_generate(actor="demo", count=missing, root=root)
    if stdout is not None:
        stdout.write(f"demo elders: {missing} generated, {have} already present under {root}")
    return missing
