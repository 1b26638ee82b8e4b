"""Certificates, training and the warning list of documents that expire."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from yanglao.core import policy
from yanglao.core.errors import Conflict, InvalidInput
from yanglao.providers import selectors, services


def today():
    return timezone.localdate()


def test_a_certificate_is_recorded_by_grade_code_or_chinese_label(cast, make_worker):
    worker = make_worker()
    first = services.worker_add_certificate(
        actor=cast.provider_admin,
        worker=worker,
        grade="中级",
        number="S2023120040001",
        issued_on="2023-05-01",
    )
    assert (first.grade, first.issued_on, first.expires_on) == ("intermediate", date(2023, 5, 1), None)
    second = services.worker_add_certificate(
        actor=cast.provider_admin,
        worker=worker,
        grade="senior_technician",
        number="X1",
        issued_on=date(2024, 1, 1),
    )
    assert second.get_grade_display() == "高级技师"


def test_every_bad_certificate_value_is_named(cast, make_worker):
    worker = make_worker()
    with pytest.raises(InvalidInput) as caught:
        services.worker_add_certificate(
            actor=cast.provider_admin,
            worker=worker,
            grade="expert",
            number="",
            issued_on=today() + timedelta(days=1),
        )
    assert {d["field"] for d in caught.value.details} == {"grade", "number", "issued_on"}
    with pytest.raises(InvalidInput) as caught:
        services.worker_add_certificate(
            actor=cast.provider_admin,
            worker=worker,
            grade="junior",
            number="A1",
            issued_on="2023-05-01",
            expires_on="2023-01-01",
        )
    assert caught.value.field == "expires_on"
    with pytest.raises(InvalidInput) as caught:  # before the worker (born 1980) turned 16
        services.worker_add_certificate(
            actor=cast.provider_admin, worker=worker, grade="junior", number="A1", issued_on="1990-01-01"
        )
    assert caught.value.field == "issued_on"


def test_a_certificate_number_is_registered_once_per_grade(cast, make_worker):
    worker = make_worker()
    services.worker_add_certificate(
        actor=cast.provider_admin, worker=worker, grade="junior", number="N1", issued_on="2020-01-01"
    )
    with pytest.raises(Conflict) as caught:
        services.worker_add_certificate(
            actor=cast.provider_admin, worker=worker, grade="junior", number="N1", issued_on="2021-01-01"
        )
    assert caught.value.field == "number"
    services.worker_add_certificate(
        actor=cast.provider_admin, worker=worker, grade="senior", number="N1", issued_on="2021-01-01"
    )


@pytest.mark.parametrize(
    ("hours", "field"), [(0, "hours"), ("200.5", "hours"), ("1.25", "hours"), ("x", "hours")]
)
def test_training_hours_are_above_0_and_at_most_200(cast, make_worker, hours, field):
    with pytest.raises(InvalidInput) as caught:
        services.worker_add_training(
            actor=cast.provider_admin, worker=make_worker(), topic="急救", hours=hours, on=today()
        )
    assert caught.value.field == field


def test_training_is_not_in_the_future_and_needs_a_topic(cast, make_worker):
    worker = make_worker()
    with pytest.raises(InvalidInput) as caught:
        services.worker_add_training(
            actor=cast.provider_admin, worker=worker, topic="", hours=4, on=today() + timedelta(days=1)
        )
    assert {d["field"] for d in caught.value.details} == {"topic", "on"}
    services.worker_add_training(
        actor=cast.provider_admin, worker=worker, topic="急救", hours="200", on=today()
    )
    services.worker_add_training(
        actor=cast.provider_admin, worker=worker, topic="消防", hours="2.5", on=today()
    )
    assert selectors.training_hours(worker) == Decimal("202.5")


def labels(actor, **kw):
    return [(r.worker.name, r.kind, r.days_left) for r in selectors.expiring_documents(actor, **kw)]


def test_documents_expiring_within_the_window_or_expired_are_listed_soonest_first(cast, make_worker):
    soon = make_worker(name="甲", health_certificate_expires=today() + timedelta(days=10))
    make_worker(name="乙", health_certificate_expires=today() + timedelta(days=31))
    make_worker(name="丙", health_certificate_expires=today() - timedelta(days=3))
    services.worker_add_certificate(
        actor="tests", worker=soon, grade="junior", number="C1", issued_on="2020-01-01", expires_on=today()
    )
    assert labels(cast.city_admin) == [("丙", "health", -3), ("甲", "certificate", 0), ("甲", "health", 10)]
    assert [r.expired for r in selectors.expiring_documents(cast.city_admin)] == [True, False, False]
    assert len(labels(cast.city_admin, within_days=31)) == 4


def test_the_window_is_a_dated_policy_value(cast, make_worker):
    make_worker(name="甲", health_certificate_expires=today() + timedelta(days=45))
    assert labels(cast.city_admin) == []
    policy.policy_set(
        actor=cast.city_admin, key="providers.expiry_warning_days", value=60, valid_from=today()
    )
    assert labels(cast.city_admin) == [("甲", "health", 45)]
    assert selectors.warning_days() == 60


def test_a_renewed_certificate_ends_the_warning_and_workers_who_left_are_not_listed(cast, make_worker):
    worker = make_worker(name="甲")
    services.worker_add_certificate(
        actor="tests", worker=worker, grade="junior", number="OLD", issued_on="2020-01-01", expires_on=today()
    )
    assert len(labels(cast.city_admin)) == 1
    services.worker_add_certificate(
        actor="tests", worker=worker, grade="junior", number="NEW", issued_on=today()
    )
    assert labels(cast.city_admin) == []
    gone = make_worker(name="乙", health_certificate_expires=today())
    services.worker_set_status(actor="tests", worker=gone, status="left", reason="辞职")
    assert labels(cast.city_admin) == []


def test_the_warning_list_is_scoped_like_the_workers(cast, make_worker):
    make_worker(name="甲", health_certificate_expires=today())
    make_worker(cast.organisations["other_provider"], name="乙", health_certificate_expires=today())
    assert [n for n, _, _ in labels(cast.provider_admin)] == ["甲"]
    assert [n for n, _, _ in labels(cast.other_district_staff)] == ["乙"]
    filtered = selectors.worker_list(cast.city_admin, selectors.WorkerFilter(expiring=True))
    assert sorted(w.name for w in filtered) == ["乙", "甲"]


def test_a_window_out_of_range_is_refused(cast):
    with pytest.raises(InvalidInput) as caught:
        selectors.expiring_documents(cast.city_admin, within_days=-1)
    assert caught.value.field == "within_days"
