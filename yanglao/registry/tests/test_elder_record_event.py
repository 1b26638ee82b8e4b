from datetime import date, timedelta

import pytest
from django.utils import timezone

from yanglao.core.errors import Conflict, InvalidInput, NotFound
from yanglao.registry import services, signals
from yanglao.registry.models import Elder, LifeEvent


def record(actor, elder, kind, on=date(2026, 3, 1), **extra):
    return services.elder_record_event(
        actor=actor, elder=Elder.objects.get(pk=elder.pk), kind=kind, on=on, **extra
    )


def test_death_sets_status_and_is_announced_after_commit(
    cast, make_elder, django_capture_on_commit_callbacks
):
    elder = make_elder()
    heard = []
    signals.life_event_recorded.connect(
        lambda sender, event, **kw: heard.append(event), weak=False, dispatch_uid="t1"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            event = record(cast.community_worker, elder, "death", note="卫健委死亡数据")
    finally:
        signals.life_event_recorded.disconnect(dispatch_uid="t1")
    elder.refresh_from_db()
    assert (elder.status, elder.death_date) == ("deceased", date(2026, 3, 1))
    assert heard == [event]


def test_death_twice_is_refused_and_changes_nothing(cast, make_elder):
    elder = make_elder()
    record(cast.community_worker, elder, "death")
    with pytest.raises(Conflict, match="已登记死亡"):
        record(cast.community_worker, elder, "death")
    assert LifeEvent.objects.filter(elder=elder).count() == 1


def test_hospital_stay_and_discharge(cast, make_elder):
    elder = make_elder()
    with pytest.raises(Conflict, match="不能登记"):
        record(cast.community_worker, elder, "hospital_discharge")
    record(cast.community_worker, elder, "hospital_admission")
    record(cast.community_worker, elder, "hospital_discharge", on=date(2026, 3, 9))
    elder.refresh_from_db()
    assert (elder.status, elder.status_since) == ("active", date(2026, 3, 9))


def test_a_move_within_the_city_changes_the_community_and_leaves_the_workers_scope(cast, make_elder):
    from yanglao.core.testing import other_community

    elder = make_elder()
    with pytest.raises(InvalidInput) as caught:
        record(cast.community_worker, elder, "move_within")
    assert caught.value.field == "new_region"
    record(cast.community_worker, elder, "move_within", new_region=other_community())
    elder.refresh_from_db()
    assert elder.residence_region_id == other_community()
    with pytest.raises(NotFound):
        record(cast.community_worker, elder, "hospital_admission")


def test_a_correction_reverses_the_latest_event_only(cast, make_elder):
    elder = make_elder()
    admission = record(cast.community_worker, elder, "hospital_admission", on=date(2026, 2, 1))
    death = record(cast.community_worker, elder, "death", on=date(2026, 2, 10))
    with pytest.raises(Conflict, match="最近一次"):
        record(cast.community_worker, elder, "correction", reverses=admission)
    record(cast.community_worker, elder, "correction", reverses=death)
    elder.refresh_from_db()
    assert (elder.status, elder.death_date, elder.status_since) == ("in_hospital", None, date(2026, 2, 1))
    with pytest.raises(Conflict, match="已被更正"):
        record(cast.community_worker, elder, "correction", reverses=death)
    record(cast.community_worker, elder, "correction", reverses=admission)
    elder.refresh_from_db()
    assert elder.status == "active"


def test_dates_in_the_future_or_before_birth_are_refused(cast, make_elder):
    elder = make_elder(born=date(1940, 1, 1))
    with pytest.raises(InvalidInput, match="晚于今天"):
        record(cast.community_worker, elder, "death", on=timezone.localdate() + timedelta(days=1))
    with pytest.raises(InvalidInput, match="早于出生日期"):
        record(cast.community_worker, elder, "death", on=date(1939, 12, 31))


def test_operators_cannot_record_events(cast, make_elder):
    from yanglao.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        record(cast.operator, make_elder(), "death")


def test_a_care_home_resident_goes_back_to_the_home_after_hospital(cast, make_elder):
    elder = make_elder()
    record(cast.community_worker, elder, "institution_admission", on=date(2026, 1, 1))
    record(cast.community_worker, elder, "hospital_admission", on=date(2026, 2, 1))
    record(cast.community_worker, elder, "hospital_discharge", on=date(2026, 2, 9))
    elder.refresh_from_db()
    assert elder.status == "in_institution"


def test_someone_who_moved_away_cannot_be_admitted_to_hospital_here(cast, make_elder):
    elder = make_elder()
    record(cast.community_worker, elder, "move_out", on=date(2026, 1, 1))
    with pytest.raises(Conflict, match="已迁出"):
        record(cast.community_worker, elder, "hospital_admission", on=date(2026, 2, 1))


def test_a_move_within_the_city_keeps_the_status_date(cast, make_elder):
    from yanglao.core.testing import other_community

    elder = make_elder()
    since = Elder.objects.get(pk=elder.pk).status_since
    record(cast.city_admin, elder, "move_within", new_region=other_community())
    assert Elder.objects.get(pk=elder.pk).status_since == since


def test_the_page_offers_the_latest_recorded_event_for_correction(cast, client, make_elder):
    elder = make_elder()
    record(cast.community_worker, elder, "hospital_admission", on=date(2026, 3, 1))
    backdated = record(cast.community_worker, elder, "hospital_discharge", on=date(2026, 3, 5))
    client.force_login(cast.community_worker)
    choices = client.get(f"/registry/elders/{elder.pk}/").context["event_form"].fields["reverses"].choices
    assert [value for value, _ in choices if value] == [backdated.pk]
