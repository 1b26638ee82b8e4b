"""Sign-in: lockout after 5 failures in 15 minutes, and no message that tells a user name exists."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from yanglao.accounts.models import LoginAttempt
from yanglao.core.testing import PASSWORD

LOGIN = reverse("accounts:login")


def attempt(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


def error_text(response) -> str:
    return " ".join(str(e) for e in response.context["form"].non_field_errors())


def test_the_right_password_signs_in_and_opens_the_dashboard(cast, client):
    response = attempt(client, "city_admin", PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("analytics:home")
    assert LoginAttempt.objects.filter(username="city_admin", succeeded=True).exists()


def test_a_wrong_password_and_an_unknown_name_read_exactly_the_same(cast, client):
    wrong = error_text(attempt(client, "city_admin", "not-the-password"))
    unknown = error_text(attempt(client, "nobody_here", "not-the-password"))
    assert wrong == unknown
    assert "用户名或密码不正确" in wrong


def test_five_failures_lock_the_name_even_for_the_right_password(cast, client):
    for _ in range(5):
        attempt(client, "city_admin", "wrong-password")
    response = attempt(client, "city_admin", PASSWORD)
    assert response.status_code == 200
    assert "登录失败次数过多" in error_text(response)
    assert "_auth_user_id" not in client.session


def test_an_unknown_name_locks_the_same_way_so_lockout_reveals_nothing(db, client):
    for _ in range(5):
        attempt(client, "nobody_here", "wrong-password")
    assert "登录失败次数过多" in error_text(attempt(client, "nobody_here", "wrong-password"))


def test_four_failures_then_success_does_not_lock(cast, client):
    for _ in range(4):
        attempt(client, "city_admin", "wrong-password")
    assert attempt(client, "city_admin", PASSWORD).status_code == 302


def test_the_lock_lifts_after_fifteen_minutes(cast, client):
    for _ in range(5):
        attempt(client, "city_admin", "wrong-password")
    LoginAttempt.objects.update(at=timezone.now() - timedelta(minutes=16))
    assert attempt(client, "city_admin", PASSWORD).status_code == 302


def test_name_case_does_not_dodge_the_lock(cast, client):
    for _ in range(5):
        attempt(client, "CITY_ADMIN", "wrong-password")
    assert "登录失败次数过多" in error_text(attempt(client, "city_admin", PASSWORD))


def test_an_inactive_user_gets_the_ordinary_message(cast, client):
    cast.city_admin.is_active = False
    cast.city_admin.save()
    assert "用户名或密码不正确" in error_text(attempt(client, "city_admin", PASSWORD))


@pytest.mark.parametrize("path", ["/", "/core/jobs/x/progress"])
def test_pages_send_anonymous_visitors_to_the_login_page(db, client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


def test_logout_is_a_post_and_ends_the_session(cast, client):
    client.force_login(cast.city_admin)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert client.get("/").status_code == 302
