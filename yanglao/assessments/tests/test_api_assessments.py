"""The assessment API: pure scoring (with 422 naming each bad item), instruments, and the workflow."""

from django.utils import timezone

from yanglao.assessments.tests.conftest import full_answers


def score(client, body):
    return client.post("/api/v1/assessments/score", body, content_type="application/json")


def test_scoring_returns_total_groups_and_both_levels_with_codes_and_labels(cast, client):
    client.force_login(cast.assessor)
    answers = full_answers(70)
    response = score(
        client,
        {
            "instrument": "gbt42195-2022",
            "answers": answers,
            "coma": False,
            "diagnoses": ["F01"],
            "risk_events_30d": 2,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == 70 and body["max_total"] == 90
    assert body["groups"]["self_care"] == {"name": "自理能力", "score": 32, "max": 32}
    assert (body["preliminary_level"], body["final_level"]) == ("mild", "severe")
    assert (body["preliminary_level_label"], body["final_level_label"]) == ("轻度失能", "重度失能")
    assert [a["code"] for a in body["adjustments"]] == ["mental_disorder", "risk_events"]


def test_missing_unknown_and_out_of_range_answers_are_422_naming_each_item(cast, client):
    client.force_login(cast.assessor)
    answers = full_answers(90)
    del answers["26"]
    answers["12"] = 4  # the stairs item goes to 3
    answers["99"] = 1
    answers["1"] = "four"
    response = score(client, {"answers": answers})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert [d["field"] for d in body["details"]] == ["answers.1", "answers.12", "answers.26", "answers.99"]
    assert "上下楼梯" in body["details"][1]["message"]


def test_unknown_instrument_and_bad_extras_are_422(cast, client):
    client.force_login(cast.assessor)
    assert score(client, {"instrument": "nope", "answers": full_answers()}).status_code == 422
    bad = score(client, {"answers": full_answers(), "risk_events_30d": -1}).json()
    assert bad["details"][0]["field"] == "risk_events_30d"
    assert score(client, {"answers": full_answers(), "diagnoses": ["痴呆"]}).status_code == 422
    assert score(client, {"coma": True}).status_code == 422  # answers are required


def test_scoring_needs_a_signed_in_caller(client, db):
    assert score(client, {"answers": full_answers()}).status_code == 401


def test_the_instruments_are_published_with_their_wording(cast, client):
    client.force_login(cast.assessor)
    listed = client.get("/api/v1/assessments/instruments").json()
    assert {i["code"] for i in listed} == {"gbt42195-2022", "barthel", "mzt039-2013"}
    gb = client.get("/api/v1/assessments/instruments/gbt42195-2022").json()
    eating = gb["groups"][0]["items"][0]
    assert eating["name"] == "进食" and [o["score"] for o in eating["options"]] == [4, 3, 2, 1, 0]
    assert gb["levels"][0] == {"code": "intact", "label": "能力完好", "total": [90, 90]}
    assert client.get("/api/v1/assessments/instruments/nope").status_code == 404


def test_the_workflow_through_the_api(cast, client, elder, second_assessor):
    client.force_login(cast.community_worker)
    created = client.post(
        "/api/v1/assessments", {"elder": elder.pk, "kind": "first"}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    assessment_id = created.json()["id"]
    assert (
        client.post(
            "/api/v1/assessments", {"elder": elder.pk, "kind": "first"}, content_type="application/json"
        ).status_code
        == 409
    )

    client.force_login(cast.district_staff)
    org = cast.organisations["assessor"].pk
    assigned = client.post(
        f"/api/v1/assessments/{assessment_id}/assign", {"organisation": org}, content_type="application/json"
    )
    assert assigned.json()["status"] == "assigned"

    client.force_login(cast.assessor)
    assert [a["id"] for a in client.get("/api/v1/assessments").json()["items"]] == [assessment_id]
    draft = client.patch(
        f"/api/v1/assessments/{assessment_id}/draft",
        {
            "answers": full_answers(50),
            "assessed_on": timezone.localdate().isoformat(),
            "risk_events": {"fall": 2},
        },
        content_type="application/json",
    )
    assert draft.status_code == 200, draft.content
    bad = client.patch(
        f"/api/v1/assessments/{assessment_id}/draft", {"answers": {"3": 9}}, content_type="application/json"
    )
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "answers.3"
    assert client.post(f"/api/v1/assessments/{assessment_id}/attest").json()["status"] == "in_progress"
    client.force_login(second_assessor)
    submitted = client.post(f"/api/v1/assessments/{assessment_id}/attest").json()
    assert (submitted["status"], submitted["total"], submitted["final_level"]) == ("submitted", 50, "severe")

    client.force_login(cast.community_worker)
    refused = client.post(
        f"/api/v1/assessments/{assessment_id}/review", {"approve": True}, content_type="application/json"
    )
    assert refused.status_code == 403
    client.force_login(cast.district_staff)
    done = client.post(
        f"/api/v1/assessments/{assessment_id}/review", {"approve": True}, content_type="application/json"
    ).json()
    assert done["status"] == "effective" and done["valid_until"]
    stats = client.get("/api/v1/assessments/statistics", {"region": "120101"}).json()
    assert (
        stats["total"]["severe"] == 1
        and stats["total"]["elders"] == 1
        and stats["total"]["not_assessed"] == 0
    )
    street = next(r for r in stats["rows"] if r["region"] == "120101001")
    assert street["severe"] == 1


def test_an_assessor_of_another_organisation_gets_404(cast, client, assigned, other_assessor):
    client.force_login(other_assessor)
    assert client.get(f"/api/v1/assessments/{assigned.pk}").status_code == 404
    assert client.get("/api/v1/assessments").json()["items"] == []
    assert client.get(f"/api/v1/elders/{assigned.elder_id}").status_code == 404
    client.force_login(cast.assessor)
    assert client.get(f"/api/v1/elders/{assigned.elder_id}").status_code == 200
