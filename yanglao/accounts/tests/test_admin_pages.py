"""Admin pages for users and tokens follow the named permissions and audit every change."""

import re

from django.contrib.messages import get_messages

from yanglao.accounts.models import ApiToken, User
from yanglao.core.models import AuditLog
from yanglao.core.testing import PASSWORD


def test_the_city_admin_manages_users_and_sees_only_its_region(cast, client):
    client.force_login(cast.city_admin)
    page = client.get("/admin/accounts/user/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "district_staff" in html
    assert "superuser" not in html.split("<tbody>")[1]  # no region: outside every city's scope


def test_a_community_worker_cannot_open_the_admin(cast, client):
    client.force_login(cast.community_worker)
    assert client.get("/admin/accounts/user/").status_code == 302  # to the admin login


def test_the_auditor_reads_the_audit_trail_but_cannot_change_users(cast, client):
    client.force_login(cast.auditor)
    assert client.get("/admin/core/auditlog/").status_code == 200
    assert client.get(f"/admin/accounts/user/{cast.elder.pk}/change/").status_code in (200, 403)
    response = client.post(f"/admin/accounts/user/{cast.elder.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert User.objects.filter(pk=cast.elder.pk).exists()


def test_adding_a_user_checks_role_and_scope_beside_the_field(cast, client):
    client.force_login(cast.city_admin)
    form = {
        "username": "new_cw",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "usable_password": "true",
        "full_name": "新社工",
        "role": "community_worker",
        "region": "120101",
    }
    page = client.post("/admin/accounts/user/add/", form)
    assert page.status_code == 200
    assert "社区村" in page.content.decode()
    assert not User.objects.filter(username="new_cw").exists()
    form["region"] = "120101001001"
    response = client.post("/admin/accounts/user/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AuditLog.objects.filter(
        action="user.create", object_id=str(User.objects.get(username="new_cw").pk)
    ).exists()


def test_a_token_made_in_the_admin_is_shown_once(cast, client):
    client.force_login(cast.city_admin)
    response = client.post(
        "/admin/accounts/apitoken/add/",
        {
            "user": cast.operator.pk,
            "name": "话务系统",
            "expires_at_0": "2030-01-01",
            "expires_at_1": "00:00:00",
        },
    )
    assert response.status_code == 302
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    token = ApiToken.objects.get(user=cast.operator)
    raw = re.search(r"yl_[A-Za-z0-9_-]+", " ".join(shown)).group(0)
    assert client.get("/api/v1/regions/1201", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert token.name == "话务系统"


def test_a_city_admin_cannot_make_anyone_a_superuser(cast, client):
    client.force_login(cast.city_admin)
    page = client.get(f"/admin/accounts/user/{cast.city_admin.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in page


def test_a_district_cannot_add_a_user_in_another_district(cast, client):
    from yanglao.core.testing import other_community

    client.force_login(cast.city_admin)
    cast.city_admin.region_id = "120101"  # a city admin scoped (for this test) to one district
    cast.city_admin.save()
    form = {
        "username": "outsider",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "usable_password": "true",
        "role": "community_worker",
        "region": other_community(),
    }
    page = client.post("/admin/accounts/user/add/", form)
    assert "不在您的管辖范围内" in page.content.decode()
    assert not User.objects.filter(username="outsider").exists()


def test_without_pii_view_the_phone_is_masked(cast, client):
    cast.elder.phone = "13812345678"
    cast.elder.save()
    client.force_login(cast.auditor)
    page = client.get(f"/admin/accounts/user/{cast.elder.pk}/change/").content.decode()
    assert "138****5678" in page
    assert "13812345678" not in page
    client.force_login(cast.city_admin)
    assert "13812345678" in client.get(f"/admin/accounts/user/{cast.elder.pk}/change/").content.decode()


def test_an_organisation_with_a_bad_credit_code_is_refused_beside_the_field(cast, client):
    from yanglao.accounts.models import Organisation

    client.force_login(cast.city_admin)
    page = client.post(
        "/admin/accounts/organisation/add/",
        {
            "name": "某机构",
            "kind": "provider",
            "credit_code": "BADCODE",
            "region": "120101",
            "is_active": "on",
        },
    )
    assert "统一社会信用代码应为18位" in page.content.decode()
    assert not Organisation.objects.filter(name="某机构").exists()


def test_unlocking_a_locked_user_from_the_admin(cast, client):
    from django.urls import reverse

    for _ in range(5):
        client.post(reverse("accounts:login"), {"username": "operator", "password": "wrong-password"})
    client.force_login(cast.city_admin)
    client.post("/admin/accounts/user/", {"action": "unlock_login", "_selected_action": [cast.operator.pk]})
    client.logout()
    response = client.post(reverse("accounts:login"), {"username": "operator", "password": PASSWORD})
    assert response.status_code == 302
    assert AuditLog.objects.filter(action="login.unlock", object_id="operator").exists()


def test_the_auditor_cannot_run_list_actions(cast, client):
    from yanglao.accounts import services

    token, _ = services.token_create(actor="test", user=cast.operator)
    client.force_login(cast.auditor)
    client.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is None


def test_bulk_delete_is_audited(cast, client):
    client.force_login(cast.city_admin)
    client.post(
        "/admin/accounts/user/",
        {"action": "delete_selected", "_selected_action": [cast.volunteer.pk], "post": "yes"},
    )
    assert not User.objects.filter(pk=cast.volunteer.pk).exists()
    assert AuditLog.objects.filter(action="user.delete", object_id=str(cast.volunteer.pk)).exists()
