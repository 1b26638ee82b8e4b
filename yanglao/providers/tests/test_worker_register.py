"""Registering and changing care workers: identity from the GB 11643 number, stored encrypted."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from yanglao.core.errors import Conflict, InvalidInput, PermissionDenied
from yanglao.core.models import AuditLog
from yanglao.providers import services, signals
from yanglao.providers.models import CareWorker
from yanglao.providers.tests.conftest import worker_id


def test_birth_date_and_sex_come_from_the_id_number(cast, make_worker):
    number = worker_id(date(1979, 11, 2), male=True)
    worker = make_worker(id_number=number[:6] + number[8:17], phone="+86 138-1234-5678")  # the 15-digit form
    assert worker.id_number == number
    assert (worker.birth_date, worker.sex) == (date(1979, 11, 2), "male")
    assert worker.phone == "13812345678" and worker.status == "active"


def test_the_id_and_phone_numbers_are_stored_encrypted_with_a_keyed_hash(cast, make_worker):
    number = worker_id()
    worker = make_worker(id_number=number, phone="13912345678")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, id_number_hash, phone, phone_hash FROM providers_careworker WHERE id = %s",
            [worker.pk],
        )
        row = cursor.fetchone()
    assert all(row), row
    for stored in row:
        assert number not in stored and "13912345678" not in stored
        assert number[6:14] not in stored  # not even the birth date part
    log = AuditLog.objects.get(action="worker.register")
    assert number not in str(log.changes) and "13912345678" not in str(log.changes)


def test_an_id_number_already_registered_is_a_conflict_in_any_spelling(cast, make_worker):
    number = worker_id(date(1985, 1, 9))
    make_worker(id_number=number)
    for spelling in (number, f" {number[:6]}-{number[6:]} ", number[:6] + number[8:17]):
        with pytest.raises(Conflict) as caught:
            make_worker(id_number=spelling, organisation=cast.organisations["other_provider"])
        assert caught.value.field == "id_number"
        assert "和平区" not in caught.value.message  # the other organisation is not named
    assert CareWorker.objects.count() == 1


def test_every_bad_value_is_named_by_its_field(cast):
    tomorrow = timezone.localdate() + timedelta(days=1)
    number = worker_id()
    wrong_check = number[:-1] + ("0" if number[-1] != "0" else "1")
    with pytest.raises(InvalidInput) as caught:
        services.worker_register(
            actor=cast.city_admin,
            organisation=cast.organisations["provider"],
            name="",
            id_number=wrong_check,
            phone="12345",
            hired_on=tomorrow,
            health_certificate_expires="2026-02-30",
        )
    fields = {d["field"] for d in caught.value.details}
    assert fields == {"name", "id_number", "phone", "hired_on", "health_certificate_expires"}


def test_a_worker_under_16_is_refused(cast):
    young = worker_id(timezone.localdate() - timedelta(days=15 * 365))
    with pytest.raises(InvalidInput) as caught:
        services.worker_register(
            actor=cast.city_admin, organisation=cast.organisations["provider"], name="小李", id_number=young
        )
    assert caught.value.field == "id_number" and "16" in caught.value.message


def test_workers_belong_to_an_active_provider_organisation(cast):
    with pytest.raises(InvalidInput) as caught:
        services.worker_register(
            actor=cast.city_admin, organisation=cast.organisations["canteen"], name="x", id_number=worker_id()
        )
    assert caught.value.field == "organisation"


def test_a_provider_admin_registers_workers_of_their_own_organisation(cast):
    worker = services.worker_register(
        actor=cast.provider_admin,
        organisation=cast.organisations["provider"],
        name="陈红",
        id_number=worker_id(),
    )
    assert worker.organisation == cast.organisations["provider"]
    with pytest.raises(PermissionDenied):
        services.worker_register(
            actor=cast.district_staff,
            organisation=cast.organisations["provider"],
            name="x",
            id_number=worker_id(),
        )


def test_an_update_rederives_identity_and_audits_masked_numbers(cast, make_worker):
    worker = make_worker()
    number = worker_id(date(1990, 6, 1), male=True)
    services.worker_update(actor=cast.provider_admin, worker=worker, id_number=number, phone="13700001111")
    worker.refresh_from_db()
    assert (worker.birth_date, worker.sex, worker.id_number) == (date(1990, 6, 1), "male", number)
    log = AuditLog.objects.get(action="worker.update")
    assert log.changes["after"]["id_number"] == number[:6] + "********" + number[-4:]
    assert log.changes["after"]["phone"] == "137****1111"


def test_only_the_bureau_moves_a_worker_to_another_organisation(cast, make_worker):
    worker = make_worker()
    with pytest.raises(PermissionDenied) as caught:
        services.worker_update(
            actor=cast.provider_admin, worker=worker, organisation=cast.organisations["other_provider"]
        )
    assert caught.value.field == "organisation"
    services.worker_update(
        actor=cast.city_admin, worker=worker, organisation=cast.organisations["other_provider"]
    )
    worker.refresh_from_db()
    assert worker.organisation == cast.organisations["other_provider"]


def test_the_login_linked_must_be_a_care_worker_of_the_organisation_and_linked_once(cast, make_worker):
    with pytest.raises(InvalidInput) as caught:
        make_worker(username="provider_admin")
    assert caught.value.field == "username"
    with pytest.raises(InvalidInput) as caught:
        make_worker(username="nobody")
    assert caught.value.field == "username"
    make_worker(username="care_worker")
    with pytest.raises(Conflict) as caught:
        make_worker(username="care_worker")
    assert caught.value.field == "username"


def test_status_changes_need_a_reason_to_stop_work_and_are_announced(
    cast, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker()
    with pytest.raises(InvalidInput) as caught:
        services.worker_set_status(actor=cast.provider_admin, worker=worker, status="left")
    assert caught.value.field == "status_reason"
    heard = []
    signals.worker_status_changed.connect(
        receiver := lambda sender, worker, before, **kw: heard.append(before)
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.worker_set_status(
                actor=cast.provider_admin, worker=worker, status="离职", reason="合同到期"
            )
    finally:
        signals.worker_status_changed.disconnect(receiver)
    worker.refresh_from_db()
    assert (worker.status, worker.status_reason, heard) == ("left", "合同到期", ["active"])
    with pytest.raises(Conflict):
        services.worker_set_status(actor=cast.provider_admin, worker=worker, status="left", reason="x")
