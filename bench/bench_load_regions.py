"""Loading a whole province of division codes (issue: under 30 s for a province).

Loads Shandong (37, the largest province in the national table: ~62,000 villages) into a fresh
SQLite database with `regions_load`, then with the baseline: a per-row ORM `update_or_create` loop
over the same rows in one transaction. Prints both figures and their ratio.

    YANGLAO_ENV=test .venv/bin/python bench/bench_load_regions.py [ROOT]
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

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from yanglao.regions.models import LEVEL_BY_LENGTH, Region  # noqa: E402
from yanglao.regions.services import DEFAULT_SOURCE, _read_source, regions_load  # noqa: E402


def baseline(root: str) -> float:
    """What a straightforward loader does: one ORM round trip per division."""
    names = _read_source(Path(DEFAULT_SOURCE), root)
    started = time.perf_counter()
    with transaction.atomic():
        for code in sorted(names, key=lambda c: (len(c), c)):
            parent = next((code[:n] for n in (9, 6, 4, 2) if n < len(code) and code[:n] in names), None)
            Region.objects.update_or_create(
                code=code,
                defaults={"name": names[code], "level": LEVEL_BY_LENGTH[len(code)], "parent_id": parent},
            )
    return time.perf_counter() - started


def main() -> None:
    root = sys.argv[1] if len(sys.argv) > 1 else "37"
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    result = regions_load(actor="bench", root=root)
    ours = time.perf_counter() - started
    again = time.perf_counter()
    regions_load(actor="bench", root=root)
    reload_seconds = time.perf_counter() - again
    with connection.cursor() as cursor:  # parents are PROTECTed; clear the table in one statement
        cursor.execute("DELETE FROM regions_region")
    theirs = baseline(root)
    total = sum(result.counts.values())
    print(
        f"province {root}: {total:,} divisions "
        + ", ".join(f"{k.value} {v:,}" for k, v in result.counts.items())
    )
    print(f"regions_load (bulk upsert):      {ours:6.2f} s   (target < 30 s)")
    print(f"regions_load again (no change):  {reload_seconds:6.2f} s")
    print(f"baseline per-row update_or_create: {theirs:6.2f} s")
    print(f"ratio baseline / ours: {theirs / ours:.1f}x")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(os.environ["YANGLAO_DATA_DIR"], ignore_errors=True)
