import json

import pytest
from django.core.management import CommandError, call_command

from yanglao.core.models import AuditLog
from yanglao.regions.models import Region
from yanglao.regions.services import regions_load

TIANJIN = {"province": 1, "city": 1, "district": 16, "street": 299, "community": 5617}


def test_tianjin_is_loaded_with_every_level_and_real_names(db):
    # The session fixture loaded 1201 from the npm package; check what a clerk would look for.
    assert Region.objects.filter(code__startswith="1201", level="district").count() == 16
    assert Region.objects.get(code="1201").name == "天津市"  # not the national table's "市辖区"
    assert Region.objects.get(code="120101").name == "和平区"
    assert Region.objects.get(code="120101001").parent_id == "120101"
    community = Region.objects.get(code="120101001001")
    assert community.level == "community"
    assert community.parent_id == "120101001"
    assert Region.objects.get(code="120101").latitude == pytest.approx(39.117, abs=0.01)


def test_a_second_load_changes_nothing(db):
    result = regions_load(actor="test", root="1201")
    assert result.counts == TIANJIN
    assert (result.created, result.updated) == (0, 0)
    assert result.unchanged == sum(TIANJIN.values())


def test_a_renamed_division_is_updated_on_reload(db):
    Region.objects.filter(code="120101").update(name="旧名称")
    result = regions_load(actor="test", root="1201")
    assert result.updated == 1
    assert Region.objects.get(code="120101").name == "和平区"


def test_the_command_prints_counts_as_json_and_writes_an_audit_row(db, capsys):
    call_command("load_regions", "--root", "120101", "--json")
    line = json.loads(capsys.readouterr().out.strip())
    assert line["root"] == "120101"
    assert line["counts"]["district"] == 1
    assert (
        line["counts"]["street"] == Region.objects.filter(code__startswith="120101", level="street").count()
    )
    assert AuditLog.objects.filter(action="regions.load", object_id="120101").exists()


def test_an_unknown_root_is_refused_and_nothing_is_written(db):
    before = Region.objects.count()
    with pytest.raises(CommandError, match="1299.*不存在"):
        call_command("load_regions", "--root", "1299")
    with pytest.raises(CommandError, match="只能由数字"):
        call_command("load_regions", "--root", "12x")
    assert Region.objects.count() == before


def test_a_missing_source_folder_says_how_to_fix_it(db, tmp_path):
    with pytest.raises(CommandError, match="npm ci"):
        call_command("load_regions", "--root", "1201", "--source", str(tmp_path))
