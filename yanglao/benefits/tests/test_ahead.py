"""On a SQLite database file, outside a transaction, the run evaluates its programmes ahead on two more
connections (ahead.py) and writes exactly what the one-statement path writes. The suite's own SQLite
database is in memory, where that path is not taken, so this test runs a small city in a process of its
own on a database file: migrate, register elders, load a pack, run November (ahead), then the same run
inside a transaction (the one-statement path), and compares the rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from yanglao.benefits.tests.conftest import PACK

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = r"""
import json, os, sys
from datetime import date
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from django.core.management import call_command
from django.db import transaction
call_command("migrate", verbosity=0)
from yanglao.benefits import ahead, services
from yanglao.benefits.models import Entitlement
from yanglao.core.testing import ensure_tianjin
from yanglao.registry import services as registry
from yanglao.registry.tests.conftest import make_id

ensure_tianjin()
services.policies_load(actor="tests", path=sys.argv[1])
people = [(date(1941, 5, 1), "subsistence"), (date(1950, 5, 1), "low_income"), (date(1934, 5, 1), "general"),
          (date(1925, 3, 2), "general"), (date(1960, 1, 1), "low_income"), (date(1944, 8, 8), "subsistence")]
for index, (born, status) in enumerate(people):
    registry.elder_register(actor="tests", name="文件" + "甲乙丙丁戊己"[index], id_number=make_id("120101", born),
                            residence_region="120101001001", economic_status=status)
attached = []
real = ahead.Ahead.attach
def counted(self, programme):
    attached.append(programme.code)
    return real(self, programme)
ahead.Ahead.attach = counted
november = date(2026, 11, 1)
rows = lambda: sorted(map(list, Entitlement.objects.values_list("programme_code", "beneficiary_id", "amount", "reason")))
services.benefits_run(actor="tests", period=november)
evaluated_ahead = rows()
with transaction.atomic():  # another connection would not see this transaction: the one-statement path
    Entitlement.objects.all().delete()
    services.benefits_run(actor="tests", period=november)
print(json.dumps({"attached": attached, "ahead": evaluated_ahead, "one_statement": rows()}, default=str))
"""


def test_programmes_evaluated_ahead_write_what_the_one_statement_path_writes(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the path under test is SQLite's; the SQLite run of the suite covers it")
    pack = tmp_path / "testcity.yaml"
    pack.write_text(PACK, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(YANGLAO_DATA_DIR=str(tmp_path), YANGLAO_ENV="test")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(pack)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(found["attached"]) == ["testcity.care", "testcity.hardship", "testcity.senior"]
    assert found["ahead"] == found["one_statement"]
    assert len(found["ahead"]) >= 4  # two hardship, the two over 80, …: the comparison is not of nothing
