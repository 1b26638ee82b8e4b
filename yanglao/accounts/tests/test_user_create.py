import pytest

from yanglao.accounts import services
from yanglao.accounts.models import User
from yanglao.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yanglao.core.models import AuditLog


def create(actor, **overrides):
    data = {
        "username": "new_worker",
        "password": "Long-enough-pass-9",
        "role": "community_worker",
        "region_code": "120101001001",
        "full_name": "新社工",
        "phone": "13812345678",
    }
    data.update(overrides)
    return services.user_create(actor=actor, **data)


def test_a_district_creates_a_community_worker_in_its_district_with_an_audit_row(cast):
    user = create(cast.district_staff)
    assert user.region_id == "120101001001"
    assert user.check_password("Long-enough-pass-9")
    row = AuditLog.objects.get(action="user.create", object_id=str(user.pk))
    assert row.changes["after"]["phone"] == "138****5678"
    assert row.actor == cast.district_staff


@pytest.mark.parametrize(
    "overrides,error,field,words",
    [
        ({"username": " "}, InvalidInput, "username", "请填写用户名"),
        ({"username": "CITY_ADMIN"}, Conflict, "username", "已被使用"),
        ({"role": "king"}, InvalidInput, "role", "无效"),
        ({"region_code": "120101"}, InvalidInput, "region", "社区村"),
        ({"region_code": "120199001001"}, NotFound, "region", "不存在"),
        ({"role": "care_worker"}, InvalidInput, "organisation", "必须属于一个机构"),
        ({"password": "short"}, InvalidInput, "password", "密码不符合要求"),
        ({"phone": "12345"}, InvalidInput, "phone", "电话号码格式不正确"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(cast, overrides, error, field, words):
    before = (User.objects.count(), AuditLog.objects.count())
    with pytest.raises(error) as caught:
        create(cast.city_admin, **overrides)
    assert caught.value.field == field
    assert words in caught.value.message
    assert (User.objects.count(), AuditLog.objects.count()) == before


def test_a_district_cannot_create_users_in_another_district(cast):
    other = User.objects.get(username="other_community_worker").region_id
    with pytest.raises(PermissionDenied):
        create(cast.district_staff, region_code=other)


def test_staff_flag_follows_the_role(cast):
    auditor = create(cast.city_admin, username="aud2", role="auditor", region_code="1201", phone="")
    worker = create(cast.city_admin)
    assert auditor.is_staff and not worker.is_staff


def test_organisation_credit_codes_are_checked(cast):
    with pytest.raises(InvalidInput) as caught:
        services.organisation_create(
            actor=cast.city_admin,
            name="某机构",
            kind="provider",
            region_code="120101",
            credit_code="91350100M000100Y44",
        )
    assert caught.value.field == "credit_code"
    organisation = services.organisation_create(
        actor=cast.city_admin,
        name="某机构",
        kind="provider",
        region_code="120101",
        credit_code="91350100m000100y43",
    )
    assert organisation.credit_code == "91350100M000100Y43"
    with pytest.raises(Conflict):
        services.organisation_create(
            actor=cast.city_admin,
            name="另一机构",
            kind="provider",
            region_code="120101",
            credit_code="91350100M000100Y43",
        )
