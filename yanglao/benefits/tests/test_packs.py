"""Policy packs are checked when loaded; every error names the file, the programme and the field."""

import pytest

from yanglao.benefits import packs, services
from yanglao.benefits.models import Programme
from yanglao.benefits.tests.conftest import PACK


def test_a_pack_loads_its_programmes_and_a_second_load_changes_nothing(db, pack_file):
    path = pack_file()
    assert services.policies_load(actor="tests", path=path)["created"] == [
        "testcity.hardship",
        "testcity.senior",
        "testcity.care",
    ]
    assert services.policies_load(actor="tests", path=path) == {
        "created": [],
        "updated": [],
        "unchanged": ["testcity.hardship", "testcity.senior", "testcity.care"],
    }
    care = Programme.objects.get(code="testcity.care")
    assert (care.jurisdiction, care.assumed, care.version) == ("120101", ["amount"], 1)


def test_a_changed_rule_needs_a_new_version_and_the_old_one_is_kept(db, pack_file):
    services.policies_load(actor="tests", path=pack_file())
    changed = PACK.replace("amount: 300, label: 低保", "amount: 350, label: 低保")
    with pytest.raises(packs.PackError, match=r"testcity.yaml: testcity.hardship: version: .*请改为 2"):
        services.policies_load(actor="tests", path=pack_file(changed))
    bumped = changed.replace(
        "code: testcity.hardship\n    version: 1", "code: testcity.hardship\n    version: 2"
    )
    assert services.policies_load(actor="tests", path=pack_file(bumped))["updated"] == ["testcity.hardship"]
    versions = list(Programme.objects.filter(code="testcity.hardship").values_list("version", "is_current"))
    assert sorted(versions) == [(1, False), (2, True)]


def test_the_jurisdiction_can_be_retargeted_for_every_programme(db, pack_file):
    services.policies_load(actor="tests", path=pack_file(), jurisdiction="1201")
    assert set(Programme.objects.values_list("jurisdiction", flat=True)) == {"1201"}


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            "code: testcity.senior",
            "code: beijing.senior",
            "testcity.yaml: beijing.senior: code: 应以“testcity.”开头",
        ),
        (
            "target: elder\n    payment: cash",
            "target: horse\n    payment: cash",
            "testcity.senior: target: 应为",
        ),
        ("{group: [gaoling]}", "{group: [rich]}", "testcity.senior: eligibility.group: 无效的取值"),
        (
            "{age_at_least: 60}",
            "{age_at_least: 'sixty'}",
            "testcity.hardship: eligibility.all[0].age_at_least",
        ),
        (
            "{economic_status: [subsistence]}",
            "{economic_status: [poor]}",
            "amount.table[0].when.economic_status",
        ),
        ("severe: 400", "severe: -4", "amount.by_level.severe: 金额应为"),
        (
            "{level: [moderate, severe, complete]}",
            "{mood: [happy]}",
            "testcity.care: eligibility: 未知的条件 'mood'",
        ),
        (
            "frequency: monthly\n    valid_from: 2020-01-01\n    eligibility: {group",
            "frequency: weekly\n    valid_from: 2020-01-01\n    eligibility: {group",
            "frequency: 应为",
        ),
        ("assumed: [amount]", "assumed: [colour]", "assumed: 未知的字段"),
        ('jurisdiction: "120101"', 'jurisdiction: "tianjin"', "jurisdiction: 应为区划代码"),
    ],
)
def test_a_broken_pack_names_file_programme_and_field(db, pack_file, old, new, message):
    assert old in PACK
    with pytest.raises(packs.PackError) as caught:
        services.policies_load(actor="tests", path=pack_file(PACK.replace(old, new, 1)))
    assert message in str(caught.value)
    assert not Programme.objects.exists()  # nothing half-loaded


def test_a_programme_code_in_two_files_is_refused(db, pack_file, tmp_path):
    pack_file()
    pack_file(PACK, "copy.yaml")
    with pytest.raises(packs.PackError, match="已在 copy.yaml 中定义|已在 testcity.yaml 中定义"):
        services.policies_load(actor="tests", path=tmp_path)
