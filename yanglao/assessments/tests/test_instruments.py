"""Instrument definitions are data, checked when loaded, with the file, the place and the problem named."""

import textwrap

import pytest
from django.test import override_settings

from yanglao.assessments import instruments, scoring

SMALL = """
code: demo-province
name: 某省简化评估
determines_ability_level: true
groups:
  - code: body
    name: 身体
    items:
      - number: 1
        name: 行走
        options: {2: 独立, 1: 需帮助, 0: 不能}
      - number: 2
        name: 进食
        options: {2: 独立, 1: 需帮助, 0: 不能}
levels:
  - {code: intact, label: 完好, total: [4, 4]}
  - {code: mild, label: 轻度, total: [2, 3]}
  - {code: severe, label: 重度, total: [0, 1]}
adjustments:
  - {code: coma, label: 昏迷, when: {flag: coma}, set_level: severe}
"""


def write(tmp_path, text, name="x.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_province_adds_an_instrument_with_a_file(tmp_path):
    write(tmp_path, SMALL)
    instruments.all_instruments.cache_clear()
    try:
        with override_settings(YANGLAO_INSTRUMENT_DIRS=[str(tmp_path)]):
            added = instruments.get("demo-province")
            assert scoring.score(added, {"1": 2, "2": 1}).final.code == "mild"
            assert scoring.score(added, {"1": 2, "2": 2}, coma=True).final.code == "severe"
            assert "gbt42195-2022" in instruments.all_instruments()
    finally:
        instruments.all_instruments.cache_clear()


@pytest.mark.parametrize(
    "change, message",
    [
        (("total: [4, 4]", "total: [4, 5]"), "分数段应从 4 分起"),
        (("total: [0, 1]", "total: [1, 1]"), "未覆盖到 0 分"),
        (("code: mild", "code: slight"), "等级代码须为"),
        (("number: 2", "number: 1"), "条目编号 1 重复"),
        (
            ("{2: 独立, 1: 需帮助, 0: 不能}\n      - number: 2", "{2: 独立}\n      - number: 2"),
            "至少要有两个选项",
        ),
        (("set_level: severe", "set_level: worst"), "未定义的等级"),
        (("when: {flag: coma}", "when: {flag: asleep}"), "flag 目前只支持 coma"),
        (("name: 身体", "name: 身体\n    colour: red"), "未知的键 colour"),
        (("code: demo-province", "code: Demo Province"), "只能用小写字母"),
    ],
)
def test_a_broken_definition_names_the_place_and_the_problem(tmp_path, change, message):
    old, new = change
    assert old in SMALL
    path = write(tmp_path, SMALL.replace(old, new, 1), "broken.yaml")
    with pytest.raises(instruments.DefinitionError) as caught:
        instruments.load_file(path)
    assert str(caught.value).startswith("broken.yaml: ")
    assert message in str(caught.value)


def test_rule_levels_are_checked_against_the_items(tmp_path):
    text = (
        SMALL.replace("total: [4, 4]", "when: {always: true}")
        .replace("total: [2, 3]", "when: {item: walking, in: [1]}")
        .replace("total: [0, 1]", "when: {count: [1, 2], in: [0], at_least: 3}")
    )
    with pytest.raises(instruments.DefinitionError, match="未定义的条目 'walking'"):
        instruments.load_file(write(tmp_path, text))
    fixed = text.replace("item: walking", "item: 1")
    with pytest.raises(instruments.DefinitionError, match="at_least: 3 大于条目数 2"):
        instruments.load_file(write(tmp_path, fixed))


def test_unreadable_yaml_is_reported(tmp_path):
    with pytest.raises(instruments.DefinitionError, match="无法读取"):
        instruments.load_file(write(tmp_path, "code: [unclosed"))


def test_the_same_code_twice_is_refused(tmp_path):
    write(tmp_path, SMALL.replace("demo-province", "gbt42195-2022"))
    instruments.all_instruments.cache_clear()
    try:
        with (
            override_settings(YANGLAO_INSTRUMENT_DIRS=[str(tmp_path)]),
            pytest.raises(instruments.DefinitionError, match="已由 gbt42195-2022.yaml 定义"),
        ):
            instruments.all_instruments()
    finally:
        instruments.all_instruments.cache_clear()


def test_a_broken_file_fails_the_start_up_check(tmp_path):
    from yanglao.assessments.checks import instruments_load

    write(tmp_path, SMALL.replace("total: [0, 1]", "total: [1, 1]"), "province.yaml")
    try:
        with override_settings(YANGLAO_INSTRUMENT_DIRS=[str(tmp_path)]):
            errors = instruments_load()
        assert [e.id for e in errors] == ["assessments.E001"]
        assert "province.yaml" in errors[0].msg
    finally:
        instruments.all_instruments.cache_clear()
    assert instruments_load() == []
