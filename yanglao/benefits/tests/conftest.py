import textwrap

import pytest

PACK = """
pack: testcity
name: 测试市补贴
jurisdiction: "120101"
source: 测试
programmes:
  - code: testcity.hardship
    version: 1
    name: 困难老年人补贴
    target: elder
    payment: service_credit
    frequency: monthly
    valid_from: 2020-01-01
    eligibility: {all: [{age_at_least: 60}]}
    amount:
      table:
        - {when: {economic_status: [subsistence]}, amount: 300, label: 低保}
        - {when: {economic_status: [low_income]}, amount: 200, label: 低收入}
  - code: testcity.senior
    version: 1
    name: 高龄津贴
    target: elder
    payment: cash
    frequency: monthly
    valid_from: 2020-01-01
    eligibility: {group: [gaoling]}
    amount: {by_age: [{from: 80, to: 89, amount: 100}, {from: 90, to: 99, amount: 500}, {from: 100, amount: 800}]}
  - code: testcity.care
    version: 1
    name: 失能护理补贴
    target: elder
    payment: service_credit
    frequency: monthly
    valid_from: 2020-01-01
    eligibility: {level: [moderate, severe, complete]}
    amount: {by_level: {moderate: 200, severe: 400, complete: 600}}
    assumed: [amount]
"""


@pytest.fixture
def pack_file(tmp_path):
    def write(text: str = PACK, name: str = "testcity.yaml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
