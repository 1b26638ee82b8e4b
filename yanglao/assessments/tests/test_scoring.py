"""GB/T 42195-2022 scoring: every level boundary, each C.4 adjustment alone and combined, the cap, every
item's range; property tests that the total is the sum and the level is monotone in the total."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yanglao.assessments import instruments, scoring
from yanglao.core.errors import Unprocessable

GB = instruments.get("gbt42195-2022")
ORDER = ["intact", "mild", "moderate", "severe", "complete"]


def answers_totalling(total: int) -> dict[str, int]:
    """Answers whose sum is `total`: items filled to their maximum in order, the rest 0."""
    answers, left = {}, total
    for key, item in GB.items.items():
        answers[key] = min(item.max_score, left)
        left -= answers[key]
    assert left == 0
    return answers


def test_the_instrument_has_the_standards_26_items_groups_and_maxima():
    assert len(GB.items) == 26
    assert {g.code: g.max_score for g in GB.groups} == {
        "self_care": 32,
        "mobility": 15,
        "mental": 28,
        "perception": 15,
    }
    assert GB.max_total == 90
    maxima = {int(k): i.max_score for k, i in GB.items.items()}
    assert [maxima[n] for n in (12, 19, 20, 21, 22, 23, 25)] == [3, 1, 1, 2, 2, 2, 3]
    assert all(item.options and all(o.text for o in item.options) for item in GB.items.values())


@pytest.mark.parametrize(
    "total, level",
    [
        (90, "intact"),
        (89, "mild"),
        (66, "mild"),
        (65, "moderate"),
        (46, "moderate"),
        (45, "severe"),
        (30, "severe"),
        (29, "complete"),
        (0, "complete"),
    ],
)
def test_every_level_boundary(total, level):
    result = scoring.score(GB, answers_totalling(total))
    assert result.total == total
    assert result.preliminary.code == level
    assert result.final.code == level
    assert result.adjustments == []


def test_labels_are_the_standards_chinese_names():
    labels = [scoring.score(GB, answers_totalling(t)).final.label for t in (90, 70, 50, 35, 10)]
    assert labels == ["能力完好", "轻度失能", "中度失能", "重度失能", "完全失能"]


def test_coma_alone_makes_complete_loss_whatever_the_total():
    result = scoring.score(GB, answers_totalling(90), coma=True)
    assert (result.preliminary.code, result.final.code) == ("intact", "complete")
    assert [a.code for a in result.adjustments] == ["coma"]


@pytest.mark.parametrize("code", ["F00", "F01.9", "f03", "F04", "F20.0", "F32", "F99"])
def test_a_dementia_or_mental_disorder_diagnosis_alone_worsens_one_level(code):
    result = scoring.score(GB, answers_totalling(70), diagnoses=[code])
    assert (result.preliminary.code, result.final.code) == ("mild", "moderate")
    assert [a.code for a in result.adjustments] == ["mental_disorder"]


@pytest.mark.parametrize("code", ["G30", "I63.9", "E11"])
def test_other_diagnoses_change_nothing(code):
    assert scoring.score(GB, answers_totalling(70), diagnoses=[code]).final.code == "mild"


def test_two_diagnoses_still_worsen_only_one_level():
    result = scoring.score(GB, answers_totalling(70), diagnoses=["F01", "F32"])
    assert result.final.code == "moderate"


@pytest.mark.parametrize("events, level", [(0, "mild"), (1, "mild"), (2, "moderate"), (5, "moderate")])
def test_two_or_more_risk_events_alone_worsen_one_level(events, level):
    assert scoring.score(GB, answers_totalling(70), risk_events_30d=events).final.code == level


def test_diagnosis_and_risk_events_together_worsen_two_levels():
    result = scoring.score(GB, answers_totalling(70), diagnoses=["F03"], risk_events_30d=2)
    assert (result.preliminary.code, result.final.code) == ("mild", "severe")
    assert [a.code for a in result.adjustments] == ["mental_disorder", "risk_events"]
    assert not result.capped


def test_the_adjustments_never_go_past_complete_loss():
    result = scoring.score(GB, answers_totalling(35), diagnoses=["F03"], risk_events_30d=3)
    assert (result.preliminary.code, result.final.code) == ("severe", "complete")
    assert result.capped
    already = scoring.score(GB, answers_totalling(10), coma=True, diagnoses=["F01"], risk_events_30d=9)
    assert already.final.code == "complete" and already.capped


def test_coma_with_the_other_adjustments_is_still_complete_loss():
    result = scoring.score(GB, answers_totalling(90), coma=True, diagnoses=["F01"], risk_events_30d=2)
    assert result.final.code == "complete"
    assert [a.code for a in result.adjustments] == ["coma", "mental_disorder", "risk_events"]


ITEM_CASES = [(key, item) for key, item in GB.items.items()]


@pytest.mark.parametrize("key, item", ITEM_CASES, ids=[f"item{k}" for k, _ in ITEM_CASES])
def test_every_items_range(key, item):
    base = answers_totalling(0)
    for value in range(0, item.max_score + 1):
        assert scoring.score(GB, {**base, key: value}).total == value
    for bad in (-1, item.max_score + 1):
        with pytest.raises(Unprocessable) as caught:
            scoring.score(GB, {**base, key: bad})
        assert caught.value.status == 422
        assert [d["field"] for d in caught.value.details] == [f"answers.{key}"]
        assert item.name in caught.value.details[0]["message"]


def test_missing_unknown_and_wrongly_typed_answers_are_each_named():
    answers = answers_totalling(90)
    del answers["7"]
    answers["27"] = 1
    answers["3"] = "4"
    answers["5"] = True
    with pytest.raises(Unprocessable) as caught:
        scoring.score(GB, answers)
    fields = [d["field"] for d in caught.value.details]
    assert fields == ["answers.3", "answers.5", "answers.7", "answers.27"]
    assert "未作答" in caught.value.details[2]["message"]


def test_bad_diagnosis_codes_and_risk_counts_are_refused():
    with pytest.raises(Unprocessable) as caught:
        scoring.score(GB, answers_totalling(90), diagnoses=["痴呆", "F1"])
    assert [d["field"] for d in caught.value.details] == ["diagnoses.0", "diagnoses.1"]
    for bad in (-1, 100, "2", 1.5):
        with pytest.raises(Unprocessable):
            scoring.score(GB, answers_totalling(90), risk_events_30d=bad)


answer_sets = st.fixed_dictionaries(
    {key: st.integers(min_value=0, max_value=item.max_score) for key, item in GB.items.items()}
)


@settings(max_examples=300, deadline=None)
@given(answer_sets)
def test_the_total_is_the_sum_of_the_items_and_of_the_groups(answers):
    result = scoring.score(GB, answers)
    assert result.total == sum(answers.values())
    assert sum(g["score"] for g in result.groups.values()) == result.total
    for group in GB.groups:
        assert result.groups[group.code]["score"] == sum(answers[i.key] for i in group.items)


@settings(max_examples=300, deadline=None)
@given(answer_sets, answer_sets, st.booleans(), st.integers(0, 5), st.sampled_from([[], ["F01"], ["I10"]]))
def test_the_level_is_monotone_in_the_total(first, second, coma, events, diagnoses):
    a = scoring.score(GB, first, coma=coma, risk_events_30d=events, diagnoses=diagnoses)
    b = scoring.score(GB, second, coma=coma, risk_events_30d=events, diagnoses=diagnoses)
    if a.total >= b.total:
        a, b = b, a
    # a lower total is never a better level, before or after the adjustments
    assert ORDER.index(a.preliminary.code) >= ORDER.index(b.preliminary.code)
    assert ORDER.index(a.final.code) >= ORDER.index(b.final.code)
    assert ORDER.index(a.final.code) >= ORDER.index(a.preliminary.code)


BARTHEL = instruments.get("barthel")


@pytest.mark.parametrize(
    "total, level", [(100, "intact"), (95, "mild"), (60, "moderate"), (40, "severe"), (0, "severe")]
)
def test_barthel_index_levels(total, level):
    answers, left = {}, total
    for key, item in BARTHEL.items.items():
        score = max((s for s in item.scores if s <= left), default=0)
        answers[key] = score
        left -= score
    assert left == 0
    result = scoring.score(BARTHEL, answers)
    assert (result.total, result.final.code) == (total, level)
    assert BARTHEL.max_total == 100


def test_barthel_accepts_only_its_own_score_steps():
    answers = {key: item.max_score for key, item in BARTHEL.items.items()}
    answers["1"] = 7
    with pytest.raises(Unprocessable) as caught:
        scoring.score(BARTHEL, answers)
    assert "0、5、10" in caught.value.details[0]["message"]


MZT = instruments.get("mzt039-2013")


@pytest.mark.parametrize(
    "grades, level",
    [
        ((0, 0, 0, 0), "intact"),
        ((0, 0, 0, 1), "intact"),
        ((0, 1, 0, 0), "mild"),
        ((0, 0, 0, 2), "mild"),
        ((1, 0, 0, 0), "mild"),
        ((1, 2, 2, 2), "moderate"),
        ((1, 3, 0, 0), "moderate"),
        ((2, 1, 0, 0), "moderate"),
        ((2, 0, 0, 0), "moderate"),
        ((2, 2, 2, 2), "severe"),
        ((2, 3, 0, 0), "severe"),
        ((3, 0, 0, 0), "severe"),
    ],
)
def test_mzt039_table_2(grades, level):
    answers = {str(n): g for n, g in zip((1, 2, 3, 4), grades, strict=True)}
    assert scoring.score(MZT, answers).final.code == level


def test_mzt039_adjustments_cap_at_its_worst_level():
    answers = {"1": 1, "2": 0, "3": 0, "4": 0}
    assert scoring.score(MZT, answers, coma=True).final.code == "severe"
    assert scoring.score(MZT, answers, diagnoses=["F03"]).final.code == "moderate"
    result = scoring.score(MZT, answers, diagnoses=["F03"], risk_events_30d=2)
    assert result.final.code == "severe"
    assert scoring.score(MZT, {"1": 3, "2": 0, "3": 0, "4": 0}, risk_events_30d=2).capped
