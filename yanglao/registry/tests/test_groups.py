"""Derived groups are SQL conditions: boundaries by birth date, and a filter that needs no Python loop."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from yanglao.registry import groups
from yanglao.registry.models import Elder

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize(
    "born,band",
    [
        (date(1966, 11, 22), "age_60_69"),  # 60 today
        (date(1956, 11, 23), "age_60_69"),  # 70 tomorrow
        (date(1956, 11, 22), "age_70_79"),
        (date(1946, 11, 22), "age_80_89"),
        (date(1936, 11, 22), "age_90_99"),
        (date(1926, 11, 22), "age_100"),
        (date(1966, 11, 23), ""),  # 59
    ],
)
def test_age_band_boundaries_in_python_and_sql(db, make_elder, born, band):
    elder = make_elder(born=born)
    assert groups.age_band_of(born, TODAY) == band
    in_sql = [
        g.code
        for g in groups.AGE_BANDS
        if Elder.objects.filter(pk=elder.pk).filter(g.condition(TODAY)).exists()
    ]
    assert in_sql == ([band] if band else [])


def test_leap_day_birthdays_count_from_28_february():
    assert groups.born_on_or_before(date(2025, 2, 28), 80) == date(1945, 2, 28)
    assert groups.born_on_or_before(date(2024, 2, 29), 1) == date(2023, 2, 28)


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2000, 12, 31)),
    st.dates(min_value=date(2001, 1, 1), max_value=date(2040, 12, 31)),
)
@settings(max_examples=200)
def test_age_at_least_agrees_with_whole_years(born, today):
    age = groups.age_on(born, today)
    assert born <= groups.born_on_or_before(today, age)
    assert not born <= groups.born_on_or_before(today, age + 1)


def test_gugua_needs_no_spouse_and_no_children_and_unknown_is_not_assumed(db, make_elder):
    widowed_no_child = make_elder(marital_status="丧偶", children_count=0)
    make_elder(marital_status="丧偶", children_count=2)
    make_elder(marital_status="有配偶", children_count=0)
    make_elder()  # nothing known
    ids = list(Elder.objects.filter(groups.condition("gugua", TODAY)).values_list("pk", flat=True))
    assert ids == [widowed_no_child.pk]


def test_special_hardship_and_laolaoren(db, make_elder):
    young = date(1955, 1, 1)
    poor = make_elder(born=young, economic_status="低保边缘")
    family = make_elder(born=young, special_family="是")
    old = make_elder(born=date(1944, 1, 1))
    severe = make_elder(born=young, disability_category="肢体残疾", disability_grade=2)
    plain = make_elder(born=young)
    hardship = set(
        Elder.objects.filter(groups.condition("special_hardship", TODAY)).values_list("pk", flat=True)
    )
    assert hardship == {poor.pk, family.pk}
    laolao = set(Elder.objects.filter(groups.condition("laolaoren", TODAY)).values_list("pk", flat=True))
    assert laolao == {old.pk, severe.pk}
    assert plain.pk not in laolao


def test_filtering_and_annotating_groups_is_one_query(db, make_elder):
    for i in range(5):
        make_elder(born=date(1930 + i, 1, 1), living_arrangement="独居")
    with CaptureQueriesContext(connection) as queries:
        rows = list(groups.annotate(Elder.objects.filter(groups.condition("gaoling", TODAY)), TODAY))
    assert len(queries) == 1
    assert all(row.g_gaoling and row.g_alone for row in rows)
