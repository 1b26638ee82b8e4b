"""The assessment screens without a browser: request, assign, the step form with autosave, attestation
on one tablet, review, the elder's tab, the list and the statistics page."""

from django.urls import reverse
from django.utils import timezone

from yanglao.assessments import services
from yanglao.assessments.enums import Status
from yanglao.assessments.models import Assessment
from yanglao.assessments.tests.conftest import GB, full_answers, submit
from yanglao.core.testing import PASSWORD


def test_requesting_from_the_elders_page(cast, client, elder):
    client.force_login(cast.community_worker)
    tab = client.get(reverse("registry:elder_detail", args=[elder.pk]), {"tab": "assessments"})
    assert "尚无生效的能力评估结果" in tab.content.decode()
    page = client.get(reverse("assessments:request"), {"elder": elder.pk})
    assert page.status_code == 200
    refused = client.post(
        reverse("assessments:request"), {"elder": elder.pk, "kind": "immediate", "reason": ""}
    )
    assert "请说明" in refused.content.decode()
    assert not Assessment.objects.exists()
    done = client.post(
        reverse("assessments:request"), {"elder": elder.pk, "kind": "first", "instrument": "gbt42195-2022"}
    )
    assessment = Assessment.objects.get()
    assert done.url == reverse("assessments:detail", args=[assessment.pk])


def test_assigning_from_the_detail_page(cast, client, elder):
    assessment = services.assessment_request(actor=cast.community_worker, elder=elder, kind="first")
    client.force_login(cast.community_worker)
    assert (
        'data-testid="assign-form"'
        not in client.get(reverse("assessments:detail", args=[assessment.pk])).content.decode()
    )
    client.force_login(cast.district_staff)
    page = client.get(reverse("assessments:detail", args=[assessment.pk])).content.decode()
    assert "测试评估机构" in page and "和平区测试服务中心" not in page  # only assessment organisations
    client.post(
        reverse("assessments:assign", args=[assessment.pk]),
        {"organisation": cast.organisations["assessor"].pk},
    )
    assessment.refresh_from_db()
    assert assessment.status == Status.ASSIGNED


def test_the_step_form_saves_each_screen_and_attests_on_one_tablet(cast, client, assigned, second_assessor):
    client.force_login(cast.assessor)
    steps = len(GB.groups) + 1
    answers = full_answers(58)
    for number, group in enumerate(GB.groups, start=1):
        page = client.get(reverse("assessments:form", args=[assigned.pk, number]))
        assert page.status_code == 200
        assert group.items[0].options[0].text in page.content.decode()  # the wording is on the screen
        data = {f"item_{i.key}": answers[i.key] for i in group.items}
        moved = client.post(reverse("assessments:form", args=[assigned.pk, number]), {**data, "go": "next"})
        assert moved.url == reverse("assessments:form", args=[assigned.pk, number + 1])
    assigned.refresh_from_db()
    assert assigned.answers == answers
    last = reverse("assessments:form", args=[assigned.pk, steps])
    extras = {
        "extras": "1",
        "diagnoses": "F01，I10",
        "risk_fall": "2",
        "assessed_on": timezone.localdate().isoformat(),
        "place": "家中",
    }
    preview = client.get(last).content.decode()
    assert 'data-testid="preview-total">58<' in preview
    client.post(last, {**extras, "go": "attest_me"})
    wrong = client.post(
        last,
        {**extras, "go": "attest_second", "username": second_assessor.username, "password": "x"},
        follow=True,
    )
    assert "用户名或密码不正确" in wrong.content.decode()
    done = client.post(
        last, {**extras, "go": "attest_second", "username": second_assessor.username, "password": PASSWORD}
    )
    assert done.url == reverse("assessments:detail", args=[assigned.pk])
    assigned.refresh_from_db()
    assert assigned.status == Status.SUBMITTED
    assert (assigned.total, assigned.preliminary_level, assigned.final_level) == (58, "moderate", "complete")
    assert assigned.diagnoses == ["F01", "I10"] and assigned.risk_events == {"fall": 2}
    assert {assigned.assessor_1, assigned.assessor_2} == {cast.assessor, second_assessor}


def test_autosave_answers_with_the_time_or_the_problem(cast, client, assigned):
    client.force_login(cast.assessor)
    url = reverse("assessments:autosave", args=[assigned.pk])
    ok = client.post(url, {"item_1": "3"}, HTTP_HX_REQUEST="true").content.decode()
    assert "已自动保存" in ok
    bad = client.post(url, {"item_12": "4"}, HTTP_HX_REQUEST="true").content.decode()
    assert "超出范围" in bad
    assigned.refresh_from_db()
    assert assigned.answers == {"1": 3}


def test_an_assessor_of_another_organisation_cannot_open_the_form(cast, client, assigned, other_assessor):
    client.force_login(other_assessor)
    assert client.get(reverse("assessments:form", args=[assigned.pk, 1])).status_code == 404
    assert (
        client.post(reverse("assessments:autosave", args=[assigned.pk]), {"item_1": "3"}).status_code == 404
    )
    client.force_login(cast.community_worker)
    assert client.get(reverse("assessments:form", args=[assigned.pk, 1])).status_code == 403


def test_review_and_the_elders_history_with_each_answer(cast, client, assigned, second_assessor):
    submitted = submit(cast, second_assessor, assigned, total=70)
    client.force_login(cast.district_staff)
    client.post(reverse("assessments:review", args=[submitted.pk]), {"decision": "return"})
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED  # a return needs a note
    client.post(reverse("assessments:review", args=[submitted.pk]), {"decision": "approve"})
    submitted.refresh_from_db()
    assert submitted.status == Status.EFFECTIVE
    client.force_login(cast.community_worker)
    tab = client.get(
        reverse("registry:elder_detail", args=[submitted.elder_id]), {"tab": "assessments"}
    ).content.decode()
    assert 'data-testid="current-level">轻度失能' in tab
    assert GB.items["1"].options[0].text in tab  # each item's answer in the standard's wording


def test_the_list_filters_and_its_empty_state(cast, client, assigned):
    client.force_login(cast.district_staff)
    page = client.get(reverse("assessments:list"), {"status": "assigned"}).content.decode()
    assert "王秀兰" in page
    empty = client.get(reverse("assessments:list"), {"status": "effective"}).content.decode()
    assert "没有符合条件的评估" in empty
    bad = client.get(reverse("assessments:list"), {"status": "nonsense"}).content.decode()
    assert "筛选条件无效" in bad


def test_statistics_by_level_per_region(cast, client, assigned, second_assessor, make_elder):
    make_elder(name="未评估老人")
    services.assessment_review(
        actor=cast.district_staff, assessment=submit(cast, second_assessor, assigned, total=40), approve=True
    )
    client.force_login(cast.district_staff)
    page = client.get(reverse("assessments:statistics"), {"region": "120101001"})
    assert page.status_code == 200
    rows = page.context["rows"]
    community = next(r for r in rows if r.code == "120101001001")
    assert community.counts["severe"] == 1 and community.not_assessed == 1 and community.elders == 2
    assert client.get(reverse("assessments:statistics"), {"region": "120102"}).status_code == 404


def test_statistics_are_for_those_who_request_or_review(cast, client):
    client.force_login(cast.operator)
    assert client.get(reverse("assessments:statistics")).status_code == 403
    client.force_login(cast.community_worker)
    assert client.get(reverse("assessments:statistics")).status_code == 200


def test_a_malformed_elder_parameter_is_a_404(cast, client):
    client.force_login(cast.community_worker)
    assert client.get(reverse("assessments:request"), {"elder": "abc"}).status_code == 404
