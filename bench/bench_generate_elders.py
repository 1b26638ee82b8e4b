"""Generating the synthetic population (issue: 1,000,000 elders in ≤ 120 s on this machine).

Into a fresh SQLite database (WAL) with Tianjin's divisions loaded:
- baseline first: the same drawn people as Django `Elder(...)` and `Household(...)` instances saved
  with `bulk_create(batch_size=2000)` (the fields encrypt and hash on save), for a 50,000 subset,
  extrapolated linearly to the full count. The baseline writes into a nearly empty table, where
  inserts are cheapest, so the extrapolation flatters it; its rows are then deleted;
- then `elders_generate` for the full count (numpy columns, raw batched inserts).
Prints both figures, the target, and their ratio.

    YANGLAO_ENV=test .venv/bin/python bench/bench_generate_elders.py [COUNT]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["YANGLAO_DATA_DIR"] = tempfile.mkdtemp(prefix="yanglao-bench-")
os.environ.pop("DATABASE_URL", None)

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from yanglao.core import idcard  # noqa: E402
from yanglao.regions.services import regions_load  # noqa: E402
from yanglao.registry import generator  # noqa: E402
from yanglao.registry.models import Elder, Household  # noqa: E402

TARGET_SECONDS = 120
BASELINE_COUNT = 50_000


def baseline(count: int) -> float:
    """What a straightforward generator does: model instances, bulk_create per 2,000 rows. The columns
    are drawn the same way (numpy), so only the writing differs."""
    started = time.perf_counter()
    today = timezone.localdate()
    places = generator.places_under("1201")
    people = generator.population_draw(places, count, seed=1, today=today)
    sequence, _ = generator.sequence_numbers(people, places)
    births = people.birth_day.astype("datetime64[D]").tolist()
    district = np.array(places.district_codes)[places.district[people.community]].tolist()
    community = places.codes[people.community].tolist()
    marital = [generator.MARITAL[i] for i in people.marital.tolist()]
    living = [generator.LIVING[i] for i in people.living.tolist()]
    economic = [generator.ECONOMIC_CODES[i] for i in people.economic.tolist()]
    categories = ["", *generator.DISABILITY_CODES]
    with transaction.atomic():
        households = Household.objects.bulk_create(
            [
                Household(region_id=community[i], address=f"{places.labels[people.community[i]]}1号")
                for i in np.flatnonzero(np.r_[True, people.household[1:] != people.household[:-1]]).tolist()
            ],
            batch_size=2000,
        )
        elders = []
        for i in range(count):
            first17 = f"{district[i]}{births[i]:%Y%m%d}{int(sequence[i]):03d}"
            male = bool(people.male[i])
            elders.append(
                Elder(
                    name=generator.SURNAMES[people.surname[i]]
                    + (generator.MALE_NAMES if male else generator.FEMALE_NAMES)[people.given[i]],
                    id_number=first17 + idcard.check_character(first17),
                    birth_date=births[i],
                    sex="male" if male else "female",
                    phone=str(people.mobile[i]) if people.mobile[i] else "",
                    residence_region_id=community[i],
                    hukou_region_id=places.codes[people.hukou[i]],
                    address=f"{places.labels[people.community[i]]}1号",
                    latitude=float(people.latitude[i]),
                    longitude=float(people.longitude[i]),
                    household=households[people.household[i]],
                    living_arrangement=living[i],
                    economic_status=economic[i],
                    marital_status=marital[i],
                    children_count=int(people.children[i]),
                    special_family=bool(people.special_family[i]),
                    disability_category=categories[people.disability_category[i] + 1],
                    disability_grade=int(people.disability_grade[i]) or None,
                    dementia=bool(people.dementia[i]),
                    status="active",
                    status_since=today,
                )
            )
        Elder.objects.bulk_create(elders, batch_size=2000)
    return time.perf_counter() - started


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    call_command("migrate", verbosity=0)
    regions_load(actor="bench", root="1201")

    subset = min(BASELINE_COUNT, count)
    theirs_subset = baseline(subset)
    theirs = theirs_subset * count / subset
    with connection.cursor() as cursor:  # start ours from an empty registry too
        cursor.execute("DELETE FROM registry_elder")
        cursor.execute("DELETE FROM registry_household")

    started = time.perf_counter()
    made = generator.elders_generate(actor="bench", count=count)
    ours = time.perf_counter() - started
    assert made == count == Elder.objects.count()
    print(f"{count:,} elders, {Household.objects.count():,} households, SQLite (WAL), {os.cpu_count()} cores")
    print(f"elders_generate (numpy + raw batched inserts): {ours:7.1f} s   (target <= {TARGET_SECONDS} s)")
    print(
        f"baseline Elder(...) + bulk_create(batch_size=2000): {theirs_subset:.1f} s for {subset:,}, "
        f"extrapolated to {count:,}: {theirs:7.1f} s"
    )
    print(f"ratio baseline / ours: {theirs / ours:.1f}x")
    print("within target" if ours <= TARGET_SECONDS else "!!! OVER TARGET !!!")


if __name__ == "__main__":
    try:
        main()
    finally:
        connection.close()
        shutil.rmtree(os.environ["YANGLAO_DATA_DIR"], ignore_errors=True)  # ~1 GB of database
