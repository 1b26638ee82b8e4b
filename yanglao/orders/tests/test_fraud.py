"""Fraud checks on visits (DOMAIN.md §5): check-in far from home, duration far below the standard,
overlapping visits by one worker, impossible travel, service after death or during a hospital stay, the
same photo reused; flags hold the visit out of settlement until the district clears them, and the
nightly pass finds what was learned after the visit."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yanglao.core import policy
from yanglao.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yanglao.core.models import AuditLog
from yanglao.core.testing import HOME_COMMUNITY, HOME_DISTRICT, OTHER_DISTRICT
from yanglao.orders import fraud, services
from yanglao.orders.enums import FlagKind as K
from yanglao.orders.enums import FlagStatus
from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.models import FollowUp, FraudFlag, Visit
from yanglao.orders.tests.conftest import FAR, HOME, NEAR
from yanglao.orders.tests.test_photos import picture, upload
from yanglao.registry import services as registry_services


def kinds(order) -> set[str]:
    return set(FraudFlag.objects.filter(visit__order=order).values_list("kind", flat=True))


def flag_of(order, kind) -> FraudFlag:
    return FraudFlag.objects.get(visit__order=order, kind=kind)


def visit_of(order) -> Visit:
    return Visit.objects.get(order=order)


def move_back(order, **delta) -> Visit:
    """The visit happened earlier than now by `delta` (check-in and check-out alike)."""
    visit = visit_of(order)
    visit.check_in_at -= timedelta(**delta)
    if visit.check_out_at:
        visit.check_out_at -= timedelta(**delta)
    visit.save(update_fields=["check_in_at", "check_out_at"])
    return visit


def on_day(order, days_ago: int, *, minutes: int = 60) -> Visit:
    """The visit took place `days_ago` days before today, from 09:00 (whatever the time the test runs)."""
    visit = visit_of(order)
    day = timezone.localdate() - timedelta(days=days_ago)
    visit.check_in_at = timezone.make_aware(datetime.combine(day, time(9, 0)))
    visit.check_out_at = visit.check_in_at + timedelta(minutes=minutes)
    visit.save(update_fields=["check_in_at", "check_out_at"])
    return visit


def set_policy(key: str, value) -> None:
    """A new policy value, in force since last week (so a visit back-dated past midnight is under it)."""
    policy.policy_set(
        actor="tests", key=key, value=value, valid_from=timezone.localdate() - timedelta(days=7)
    )


def is_held(order) -> bool:
    return fraud.held(Visit.objects.filter(order=order)).exists()


def record_event(elder, kind, days_ago=0, **extra):
    return registry_services.elder_record_event(
        actor="tests", elder=elder, kind=kind, on=timezone.localdate() - timedelta(days=days_ago), **extra
    )


@pytest.fixture
def far_elder(make_elder):
    """A second elder of the community, living ~3.5 km from HOME (at FAR)."""
    return make_elder(
        HOME_COMMUNITY, latitude=FAR[0], longitude=FAR[1], address="和平区远处路9号", name="李淑芬"
    )


@pytest.fixture
def in_memory_photos(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }


@pytest.fixture
def flagged(order_at):
    """An order whose worker checked in ~3.5 km from the elder's home: one open far_check_in flag."""
    order = order_at(S.CHECKED_IN, at=FAR)
    assert kinds(order) == {K.FAR_CHECK_IN}
    return order


# --- a normal visit -------------------------------------------------------------------------------------
def test_a_visit_at_the_home_of_standard_length_raises_no_flag_and_is_not_held(order_at):
    order = order_at(S.RATED)
    assert kinds(order) == set()
    assert not is_held(order)
    assert fraud.payable(Visit.objects.filter(order=order)).exists()


# --- far check-in ---------------------------------------------------------------------------------------
def test_check_in_far_from_home_is_flagged_with_the_distance_and_the_visit_is_held(flagged, elder):
    flag = flag_of(flagged, K.FAR_CHECK_IN)
    assert flag.status == FlagStatus.OPEN
    assert flag.summary.startswith("签到位置距老人住址 3,")
    assert flag.summary.endswith(" 米（允许 300 米）")
    evidence = flag.evidence
    assert 3000 < evidence["distance_m"] < 4000
    assert evidence["policy"] == {"orders.geofence_m": 300}
    assert evidence["order"] == flagged.pk
    assert (evidence["check_in"]["latitude"], evidence["check_in"]["longitude"]) == FAR
    assert (evidence["home"]["latitude"], evidence["home"]["longitude"]) == HOME
    assert is_held(flagged)


def test_check_in_near_the_home_is_not_flagged(order_at):
    order = order_at(S.CHECKED_OUT, at=NEAR)  # ~140 m
    assert K.FAR_CHECK_IN not in kinds(order)


def test_a_check_in_at_the_geofence_is_not_flagged_and_just_beyond_it_is(order_at):
    order = order_at(S.CHECKED_IN)
    visit = visit_of(order)
    visit.check_in_distance_m = 300.0
    visit.save()
    assert fraud.check_visit(visit) == []
    visit.check_in_distance_m = 300.4
    visit.save()
    [flag] = fraud.check_visit(visit)
    assert flag.kind == K.FAR_CHECK_IN
    assert flag.summary == "签到位置距老人住址 300.4 米（允许 300 米）"


def test_the_geofence_is_the_policy_value_in_force(order_at):
    set_policy("orders.geofence_m", 100)
    order = order_at(S.CHECKED_IN, at=NEAR)
    flag = flag_of(order, K.FAR_CHECK_IN)
    assert flag.summary.endswith("米（允许 100 米）")
    assert flag.evidence["policy"] == {"orders.geofence_m": 100}


# --- duration -------------------------------------------------------------------------------------------
def test_a_visit_far_shorter_than_the_standard_is_flagged_at_check_out(order_at):
    order = order_at(S.CHECKED_OUT, minutes=29)  # 助浴: standard 60 minutes, limit 50% = 30
    flag = flag_of(order, K.SHORT_DURATION)
    assert flag.summary == "服务时长 29 分钟，低于“助浴”标准时长 60 分钟的 50%（30 分钟）"
    assert flag.evidence["standard_minutes"] == 60
    assert flag.evidence["limit_minutes"] == 30
    assert flag.evidence["policy"] == {"orders.min_duration_percent": 50}


def test_a_visit_of_exactly_the_limit_is_not_flagged_and_a_second_less_is(order_at):
    order = order_at(S.CHECKED_OUT, minutes=30)
    assert K.SHORT_DURATION not in kinds(order)
    visit = visit_of(order)
    visit.check_in_at = visit.check_out_at - timedelta(minutes=30)
    visit.save()
    assert fraud.check_visit(visit) == []
    visit.check_in_at = visit.check_out_at - timedelta(minutes=29, seconds=59)
    visit.save()
    [flag] = fraud.check_visit(visit)
    assert flag.kind == K.SHORT_DURATION
    assert flag.summary.startswith("服务时长 29 分 59 秒，低于")


def test_duration_is_not_judged_before_check_out(order_at):
    order = order_at(S.CHECKED_IN, minutes=0)
    assert kinds(order) == set()


def test_the_duration_limit_is_the_policy_value_in_force(order_at):
    set_policy("orders.min_duration_percent", 75)
    order = order_at(S.CHECKED_OUT, minutes=40)  # limit now 45 minutes
    assert "标准时长 60 分钟的 75%（45 分钟）" in flag_of(order, K.SHORT_DURATION).summary


# --- overlap --------------------------------------------------------------------------------------------
def test_checking_in_while_another_visit_is_open_flags_both_visits(cast, order_at):
    first = order_at(S.CHECKED_IN, minutes=30)
    second = order_at(S.CHECKED_IN, minutes=0)
    flag = flag_of(second, K.OVERLAP)
    assert flag.evidence["other_order"] == first.pk
    assert flag.evidence["other_check_out_at"] is None
    assert f"工单 No.{first.pk}" in flag.summary and "签到后未签退" in flag.summary
    assert K.OVERLAP not in kinds(first)
    # Checking out of the first visit now: its interval holds the second check-in.
    services.visit_check_out(
        actor=cast.care_worker, order=first, latitude=HOME[0], longitude=HOME[1], items_done=["洗浴"]
    )
    assert flag_of(first, K.OVERLAP).evidence["other_order"] == second.pk


def test_a_visit_left_open_for_days_overlaps_the_worker_s_next_check_in(order_at):
    forgotten = order_at(S.CHECKED_IN, minutes=3 * 24 * 60)  # checked in three days ago, never out
    order = order_at(S.CHECKED_IN, minutes=0)
    assert flag_of(order, K.OVERLAP).evidence["other_order"] == forgotten.pk
    assert K.OVERLAP not in kinds(forgotten)  # a check flags only its own visit
    assert fraud.check_all(since=timezone.now() - timedelta(days=4)) == 1  # the nightly pass: both
    assert flag_of(forgotten, K.OVERLAP).evidence["other_order"] == order.pk


def test_back_to_back_visits_do_not_overlap_and_a_minute_into_the_last_one_does(order_at):
    first = order_at(S.CHECKED_OUT)
    earlier = move_back(first, minutes=90)
    second = order_at(S.CHECKED_OUT)
    assert K.OVERLAP not in kinds(second) | kinds(first)
    visit = visit_of(second)
    visit.check_in_at = earlier.check_out_at  # the next visit starts as the last one ends
    visit.save()
    assert fraud.check_visit(visit) == []
    visit.check_in_at = earlier.check_out_at - timedelta(minutes=1)
    visit.save()
    [flag] = fraud.check_visit(visit)
    assert flag.kind == K.OVERLAP
    assert flag.evidence["overlap_minutes"] == 1
    assert "重叠 1 分钟" in flag.summary


# --- travel ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("minutes_between", "max_kmh", "flagged"),
    [(2, None, True), (10, None, False), (2, 120, False)],
    ids=["3.5km-in-2-minutes", "3.5km-in-10-minutes", "2-minutes-with-a-higher-limit"],
)
def test_travel_between_consecutive_visits_faster_than_plausible_is_flagged(
    order_at, far_elder, minutes_between, max_kmh, flagged
):
    if max_kmh:
        set_policy("orders.max_travel_kmh", max_kmh)
    first = order_at(S.CHECKED_OUT)
    move_back(first, minutes=minutes_between)
    second = order_at(S.CHECKED_IN, elder=far_elder, at=FAR, minutes=0)
    assert (K.IMPOSSIBLE_TRAVEL in kinds(second)) is flagged
    assert K.FAR_CHECK_IN not in kinds(second)  # the second elder lives there
    if flagged:
        flag = flag_of(second, K.IMPOSSIBLE_TRAVEL)
        assert flag.evidence["other_order"] == first.pk
        assert flag.evidence["left_by"] == "check_out"
        assert 3400 < flag.evidence["distance_m"] < 3700
        assert flag.evidence["speed_kmh"] > 60
        assert f"工单 No.{first.pk}" in flag.summary and "合理上限 60 公里/小时" in flag.summary


# --- death and hospital ---------------------------------------------------------------------------------
def test_checking_in_for_an_elder_registered_dead_is_flagged(cast, order_at, elder):
    order = order_at(S.ASSIGNED)
    record_event(elder, "death")
    services.visit_check_in(actor=cast.care_worker, order=order, latitude=HOME[0], longitude=HOME[1])
    flag = flag_of(order, K.AFTER_DEATH)
    today = timezone.localdate()
    assert flag.summary.startswith(f"老人已登记于 {today:%Y-%m-%d} 死亡")
    assert flag.evidence["death_date"] == today.isoformat()


def test_the_nightly_pass_finds_a_death_reported_after_the_visit_once(order_at, elder):
    order = order_at(S.CONFIRMED)
    assert kinds(order) == set()
    on_day(order, 0)
    record_event(elder, "death")
    assert fraud.check_all() == 1
    assert kinds(order) == {K.AFTER_DEATH}
    assert fraud.check_all() == 0


def test_a_visit_the_day_before_the_death_is_not_flagged(order_at, elder):
    order = order_at(S.CHECKED_OUT)
    on_day(order, 1)
    record_event(elder, "death")
    assert fraud.check_all(since=timezone.now() - timedelta(days=3)) == 0
    assert kinds(order) == set()


def test_visits_during_a_hospital_stay_are_flagged_and_not_after_the_discharge(order_at, elder):
    days_ago = [5, 3, 2, 0]  # admitted 5 days ago, discharged 2 days ago
    orders = {}
    for n in days_ago:
        orders[n] = order_at(S.CHECKED_OUT)
        on_day(orders[n], n)
    record_event(elder, "hospital_admission", days_ago=5)
    discharge = record_event(elder, "hospital_discharge", days_ago=2)
    fraud.check_all(since=timezone.now() - timedelta(days=7))
    held = {n for n in days_ago if K.IN_HOSPITAL in kinds(orders[n])}
    assert held == {5, 3}  # the day of admission counts, the day of discharge does not
    flag = flag_of(orders[3], K.IN_HOSPITAL)
    assert flag.evidence["discharge"]["event"] == discharge.pk
    assert "住院至" in flag.summary and "出院" in flag.summary


def test_a_stay_with_no_discharge_yet_flags_a_check_in(order_at, elder):
    record_event(elder, "hospital_admission", days_ago=1)
    order = order_at(S.CHECKED_IN)
    assert "尚未登记出院" in flag_of(order, K.IN_HOSPITAL).summary


def test_an_admission_reversed_by_a_correction_flags_nothing(order_at, elder):
    admission = record_event(elder, "hospital_admission", days_ago=1)
    record_event(elder, "correction", reverses=admission)
    order = order_at(S.CHECKED_IN)
    assert kinds(order) == set()


# --- photos ---------------------------------------------------------------------------------------------
def test_the_same_photo_re_encoded_on_a_later_visit_is_flagged_and_a_different_one_is_not(
    cast, order_at, in_memory_photos
):
    first = order_at(S.CHECKED_OUT)
    move_back(first, hours=4)
    services.visit_add_photo(actor=cast.care_worker, order=first, upload=upload(picture(1)))
    second = order_at(S.CHECKED_OUT)
    move_back(second, hours=2)
    again = picture(1, size=(640, 480), quality=50)  # the same picture, sent again smaller
    photo = services.visit_add_photo(actor=cast.care_worker, order=second, upload=upload(again))
    assert kinds(second) == {K.PHOTO_REUSED}
    assert kinds(first) == set()
    flag = flag_of(second, K.PHOTO_REUSED)
    assert flag.evidence["other_order"] == first.pk
    assert flag.evidence["other_visit"] == visit_of(first).pk
    assert flag.evidence["photo"] == photo.pk
    assert f"工单 No.{first.pk}" in flag.summary
    third = order_at(S.CHECKED_OUT)
    services.visit_add_photo(actor=cast.care_worker, order=third, upload=upload(picture(2)))
    assert kinds(third) == set()


def test_the_nightly_pass_flags_the_later_visit_when_the_earlier_one_s_photo_came_last(
    cast, order_at, in_memory_photos
):
    earlier = order_at(S.CHECKED_OUT)
    move_back(earlier, hours=3)
    later = order_at(S.CHECKED_OUT)
    services.visit_add_photo(actor=cast.care_worker, order=later, upload=upload(picture(5)))
    services.visit_add_photo(
        actor=cast.care_worker, order=earlier, upload=upload(picture(5, size=(800, 600), quality=70))
    )
    assert kinds(earlier) == kinds(later) == set()  # each visit's own check flags only a later visit
    assert fraud.check_all() == 1
    assert kinds(later) == {K.PHOTO_REUSED}
    assert flag_of(later, K.PHOTO_REUSED).evidence["other_order"] == earlier.pk
    assert fraud.check_all() == 0


# --- the nightly pass and flags that exist --------------------------------------------------------------
def test_checks_never_duplicate_a_flag_and_a_cleared_flag_stays_cleared(cast, flagged):
    visit = visit_of(flagged)
    assert fraud.check_visit(visit) == []
    assert fraud.check_all() == 0
    fraud.flag_review(
        actor=cast.district_staff,
        flag=flag_of(flagged, K.FAR_CHECK_IN),
        decision="cleared",
        note="地址坐标有误，已核实上门",
    )
    assert fraud.check_visit(visit) == []
    assert fraud.check_all() == 0
    assert flag_of(flagged, K.FAR_CHECK_IN).status == FlagStatus.CLEARED
    assert FraudFlag.objects.filter(visit=visit).count() == 1


def test_the_nightly_pass_asks_the_same_number_of_queries_for_more_visits(cast, order_at, elder):
    def second_pass_queries() -> int:
        fraud.check_all()  # raises what is new; the second pass finds the same and raises nothing
        with CaptureQueriesContext(connection) as queries:
            assert fraud.check_all() == 0
        return len(queries)

    for n in range(2):
        move_back(order_at(S.CHECKED_OUT, at=FAR), hours=2 * n + 2)
    few = second_pass_queries()
    for n in range(2, 6):
        move_back(order_at(S.CHECKED_OUT, at=FAR), hours=2 * n + 2)
    assert FraudFlag.objects.filter(kind=K.FAR_CHECK_IN).count() == 6
    assert second_pass_queries() == few


def test_the_elder_saying_nobody_came_on_the_follow_up_call_flags_the_visit(cast, order_at):
    order = order_at(S.CONFIRMED)
    FollowUp.objects.get_or_create(visit=visit_of(order), defaults={"sampled_at": timezone.now()})
    services.follow_up_record(
        actor=cast.community_worker, order=order, outcome="not_served", note="老人说当天没人来"
    )
    flag = flag_of(order, K.NOT_SERVED)
    assert flag.summary == "回访时老人反映未接受本次服务：老人说当天没人来"
    assert fraud.flag_not_served(visit_of(order), note="再次反映") == flag
    assert FraudFlag.objects.filter(visit__order=order).count() == 1
    assert is_held(order)


# --- review ---------------------------------------------------------------------------------------------
def test_district_staff_clear_a_flag_with_a_note_and_the_visit_is_paid_again(cast, flagged):
    flag = flag_of(flagged, K.FAR_CHECK_IN)
    assert is_held(flagged)
    reviewed = fraud.flag_review(
        actor=cast.district_staff, flag=flag, decision="cleared", note="老人住址坐标有误，电话核实已上门"
    )
    assert reviewed.status == FlagStatus.CLEARED
    assert reviewed.reviewed_by == cast.district_staff and reviewed.reviewed_at is not None
    assert reviewed.review_note == "老人住址坐标有误，电话核实已上门"
    assert not is_held(flagged)
    log = AuditLog.objects.get(action="fraud.review", object_id=str(flag.pk))
    assert log.actor == cast.district_staff and log.region_code == flagged.region_id
    assert log.changes["after"]["status"] == "cleared"


def test_a_confirmed_flag_keeps_the_visit_held(cast, flagged):
    fraud.flag_review(
        actor=cast.city_admin, flag=flag_of(flagged, K.FAR_CHECK_IN), decision="confirmed", note="未上门"
    )
    assert is_held(flagged)
    assert fraud.held(Visit.objects.all()).count() == 1


def test_a_review_needs_a_decision_and_a_note_and_happens_once(cast, flagged):
    flag = flag_of(flagged, K.FAR_CHECK_IN)
    with pytest.raises(InvalidInput) as refused:
        fraud.flag_review(actor=cast.district_staff, flag=flag, decision="cleared", note="  ")
    assert refused.value.field == "note"
    with pytest.raises(InvalidInput) as refused:
        fraud.flag_review(actor=cast.district_staff, flag=flag, decision="open", note="看过了")
    assert refused.value.field == "decision"
    assert flag_of(flagged, K.FAR_CHECK_IN).status == FlagStatus.OPEN
    fraud.flag_review(actor=cast.street_staff, flag=flag, decision="confirmed", note="未上门服务")
    with pytest.raises(Conflict, match="已核查"):
        fraud.flag_review(actor=cast.district_staff, flag=flag, decision="cleared", note="改为无误")
    assert flag_of(flagged, K.FAR_CHECK_IN).status == FlagStatus.CONFIRMED


@pytest.mark.parametrize(
    ("who", "refusal"),
    [
        ("other_district_staff", NotFound),  # another district: as if the flag did not exist
        ("care_worker", PermissionDenied),
        ("provider_admin", PermissionDenied),  # sees its flags, may not judge them
        ("community_worker", PermissionDenied),
        ("operator", PermissionDenied),
    ],
)
def test_only_staff_of_the_order_s_district_may_review(cast, flagged, who, refusal):
    flag = flag_of(flagged, K.FAR_CHECK_IN)
    with pytest.raises(refusal):
        fraud.flag_review(actor=cast.users[who], flag=flag, decision="cleared", note="无误")
    assert flag_of(flagged, K.FAR_CHECK_IN).status == FlagStatus.OPEN
    assert not AuditLog.objects.filter(action="fraud.review").exists()


# --- lists ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("district_staff", True),
        ("street_staff", True),
        ("city_admin", True),
        ("superuser", True),
        ("provider_admin", True),  # its own organisation's orders
        ("other_district_staff", False),
        ("other_provider_admin", False),
        ("care_worker", False),
        ("community_worker", False),
        ("operator", False),
        ("inspector", True),  # flags go to oversight (DOMAIN.md §5)
        ("elder", False),
    ],
)
def test_flags_are_visible_to_the_district_oversight_and_the_provider_only(cast, flagged, who, sees):
    assert fraud.flags_visible(cast.users[who]).exists() is sees


def test_the_flag_list_filters_by_status_kind_and_region_newest_first(cast, flagged, order_at):
    older = flag_of(flagged, K.FAR_CHECK_IN)
    FraudFlag.objects.filter(pk=older.pk).update(detected_at=timezone.now() - timedelta(days=1))
    Visit.objects.filter(order=flagged).update(check_in_at=timezone.now() - timedelta(minutes=5))
    services.visit_check_out(
        actor=cast.care_worker, order=flagged, latitude=FAR[0], longitude=FAR[1], items_done=["洗浴"]
    )
    newer = flag_of(flagged, K.SHORT_DURATION)
    staff = cast.district_staff
    assert list(fraud.flag_list(staff)) == [newer, older]
    assert list(fraud.flag_list(staff, kind="far_check_in")) == [older]
    assert list(fraud.flag_list(staff, status="cleared")) == []
    assert list(fraud.flag_list(staff, region=HOME_DISTRICT)) == [newer, older]
    assert list(fraud.flag_list(cast.city_admin, region=OTHER_DISTRICT)) == []
    with pytest.raises(InvalidInput) as refused:
        fraud.flag_list(staff, status="maybe")
    assert refused.value.field == "status"
    with pytest.raises(InvalidInput) as refused:
        fraud.flag_list(staff, kind="bad_hair_day")
    assert refused.value.field == "kind"


def test_a_confirmed_flag_gives_the_service_account_its_money_back_once(cast, order_at, elder):
    from decimal import Decimal

    from yanglao.benefits.models import LedgerEntry, ServiceAccount
    from yanglao.orders.tests.conftest import credit

    credit(elder, "100")
    order = order_at(S.CONFIRMED, at=FAR)  # far check-in: flagged, and paid 85 from the account
    assert ServiceAccount.objects.get(elder_id=elder.pk).balance == Decimal("15")
    flags = list(FraudFlag.objects.filter(visit__order=order, status="open"))
    for flag in flags:
        fraud.flag_review(actor=cast.district_staff, flag=flag, decision="confirmed", note="核实未上门")
    assert ServiceAccount.objects.get(elder_id=elder.pk).balance == Decimal("100")
    refunds = LedgerEntry.objects.filter(reference=f"refund:order:{order.pk}")
    assert [e.amount for e in refunds] == [Decimal("85")]
