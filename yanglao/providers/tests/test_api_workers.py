"""The care-worker API: numbers masked unless unmasked with pii.view (audited); scope; documents."""

from datetime import date, timedelta

from django.utils import timezone

from yanglao.core.models import AuditLog
from yanglao.providers.tests.conftest import worker_id

API = "/api/v1/providers/workers"


def json(client, method, url, body=None):
    return getattr(client, method)(url, body, content_type="application/json")


def masked(number):
    return number[:6] + "********" + number[-4:]


def test_create_and_read_with_masked_numbers(cast, client):
    client.force_login(cast.provider_admin)
    number = worker_id(date(1975, 4, 5))
    created = json(
        client,
        "post",
        API,
        {
            "organisation": cast.organisations["provider"].pk,
            "name": "孙丽",
            "id_number": number,
            "phone": "13612345678",
            "health_certificate_expires": str(timezone.localdate() + timedelta(days=100)),
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["id_number"] == masked(number) and body["phone"] == "136****5678"
    assert (body["birth_date"], body["sex"]) == ("1975-04-05", "female")
    assert client.get(f"{API}/{body['id']}").json()["name"] == "孙丽"


def test_unmasked_numbers_need_pii_view_and_every_view_is_audited(cast, client, make_worker):
    number = worker_id()
    worker = make_worker(id_number=number, phone="13512345678")
    client.force_login(cast.provider_admin)  # may edit the worker, but may not see full numbers
    assert client.get(f"{API}/{worker.pk}", {"unmasked": "true"}).status_code == 403
    assert client.get(API, {"unmasked": "true"}).status_code == 403
    assert client.get(API).json()["items"][0]["id_number"] == masked(number)
    client.force_login(cast.city_admin)
    one = client.get(f"{API}/{worker.pk}", {"unmasked": "true"}).json()
    assert (one["id_number"], one["phone"]) == (number, "13512345678")
    page = client.get(API, {"unmasked": "true"}).json()
    assert page["items"][0]["id_number"] == number
    assert AuditLog.objects.filter(action="worker.view_personal_numbers").count() == 2


def test_find_by_full_id_number_in_any_spelling(cast, client, make_worker):
    number = worker_id(date(1982, 8, 8))
    worker = make_worker(id_number=number)
    make_worker(name="另一人")
    client.force_login(cast.district_staff)
    for q in (number, f"{number[:6]} {number[6:]}", number[:6] + number[8:17]):
        assert [w["id"] for w in client.get(API, {"q": q}).json()["items"]] == [worker.pk], q


def test_outside_scope_is_404(cast, client, make_worker):
    worker = make_worker()
    client.force_login(cast.other_provider_admin)
    assert client.get(f"{API}/{worker.pk}").status_code == 404
    assert json(client, "patch", f"{API}/{worker.pk}", {"note": "x"}).status_code == 404
    assert (
        json(
            client, "post", f"{API}/{worker.pk}/training", {"topic": "x", "hours": 1, "on": "2025-01-01"}
        ).status_code
        == 404
    )
    client.force_login(cast.other_district_staff)
    assert client.get(f"{API}/{worker.pk}").status_code == 404


def test_bad_bodies_are_422_and_broken_rules_400_or_409(cast, client, make_worker):
    number = worker_id()
    make_worker(id_number=number)
    client.force_login(cast.city_admin)
    missing = json(client, "post", API, {"name": "x"})
    assert missing.status_code == 422
    assert {d["field"] for d in missing.json()["details"]} >= {"organisation", "id_number"}
    body = {"organisation": cast.organisations["provider"].pk, "name": "x", "id_number": number}
    duplicate = json(client, "post", API, body)
    assert duplicate.status_code == 409 and duplicate.json()["details"][0]["field"] == "id_number"
    wrong = json(
        client, "post", API, {**body, "id_number": number[:-1] + ("1" if number[-1] != "1" else "2")}
    )
    assert wrong.status_code == 400 and wrong.json()["details"][0]["field"] == "id_number"


def test_patch_status_certificates_and_training(cast, client, make_worker):
    worker = make_worker()
    client.force_login(cast.provider_admin)
    patched = json(client, "patch", f"{API}/{worker.pk}", {"note": "夜班", "hired_on": "2020-03-01"})
    assert patched.status_code == 200 and patched.json()["hired_on"] == "2020-03-01"
    status = json(client, "post", f"{API}/{worker.pk}/status", {"status": "suspended", "reason": "病假"})
    assert status.json()["status"] == "suspended"
    cert = json(
        client,
        "post",
        f"{API}/{worker.pk}/certificates",
        {"grade": "senior", "number": "G1", "issued_on": "2022-02-02"},
    )
    assert cert.status_code == 201 and cert.json()["grade_label"] == "高级"
    assert [c["number"] for c in client.get(f"{API}/{worker.pk}/certificates").json()] == ["G1"]
    training = json(
        client, "post", f"{API}/{worker.pk}/training", {"topic": "急救", "hours": "7.5", "on": "2024-05-05"}
    )
    assert training.status_code == 201 and training.json()["hours"] == "7.5"
    too_long = json(
        client, "post", f"{API}/{worker.pk}/training", {"topic": "x", "hours": 201, "on": "2024-05-05"}
    )
    assert too_long.status_code == 400 and too_long.json()["details"][0]["field"] == "hours"
    assert len(client.get(f"{API}/{worker.pk}/training").json()) == 1


def test_the_expiring_list(cast, client, make_worker):
    soon = make_worker(name="甲", health_certificate_expires=timezone.localdate() + timedelta(days=5))
    make_worker(name="乙", health_certificate_expires=timezone.localdate() + timedelta(days=50))
    client.force_login(cast.provider_admin)
    rows = client.get(f"{API}/expiring").json()
    assert [(r["worker"], r["kind"], r["days_left"], r["expired"]) for r in rows] == [
        (soon.pk, "health", 5, False)
    ]
    assert len(client.get(f"{API}/expiring", {"within_days": 60}).json()) == 2
    assert client.get(f"{API}/expiring", {"within_days": -1}).status_code == 400
    assert client.get(API, {"expiring": "true"}).json()["count"] == 1
