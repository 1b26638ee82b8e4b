"""API tokens: stored hashed, scoped, expiring; each refusal says what is wrong."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from yanglao.accounts import services
from yanglao.accounts.models import ApiToken
from yanglao.core.errors import InvalidInput
from yanglao.core.models import AuditLog


def bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_the_command_prints_a_token_that_works_and_only_its_hash_is_stored(cast, client):
    out = StringIO()
    call_command("token", "create", "--user", "city_admin", "--days", "7", stdout=out, stderr=StringIO())
    raw = out.getvalue().strip()
    assert raw.startswith("yl_")
    token = ApiToken.objects.get(user=cast.city_admin)
    assert raw not in (token.key_hash, token.prefix)
    assert timedelta(days=6, hours=23) < token.expires_at - timezone.now() <= timedelta(days=7)
    response = client.get("/api/v1/regions/1201", **bearer(raw))
    assert response.status_code == 200
    assert response.json()["name"] == "天津市"
    assert AuditLog.objects.filter(action="token.create").exists()


@pytest.mark.parametrize(
    "problem,code,words",
    [
        ("expired", "token_expired", "过期"),
        ("revoked", "token_revoked", "吊销"),
        ("wrong", "token_invalid", "没有这个令牌"),
        ("malformed", "token_malformed", "格式不正确"),
        ("inactive", "user_inactive", "停用"),
    ],
)
def test_a_bad_token_is_refused_naming_the_problem(cast, client, problem, code, words):
    token, raw = services.token_create(actor="test", user=cast.city_admin, days=1)
    if problem == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif problem == "revoked":
        services.token_revoke(actor="test", token=token)
    elif problem == "wrong":
        raw = raw[:-4] + "AAAA"
    elif problem == "malformed":
        raw = "abc"
    elif problem == "inactive":
        cast.city_admin.is_active = False
        cast.city_admin.save()
    response = client.get("/api/v1/regions/1201", **bearer(raw))
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == code
    assert words in body["message"]


def test_a_token_never_widens_what_its_user_may_do(cast):
    with pytest.raises(InvalidInput) as caught:
        services.token_create(actor="test", user=cast.community_worker, scopes=["users.manage"])
    assert caught.value.field == "scopes"
    with pytest.raises(InvalidInput, match="未知"):
        services.token_create(actor="test", user=cast.community_worker, scopes=["root.everything"])


def test_a_token_can_narrow_its_user(cast, client):
    _, raw = services.token_create(actor="test", user=cast.city_admin, scopes=["regions.view"])
    response = client.get("/api/v1/regions/1201", **bearer(raw))
    assert response.status_code == 403
    assert "api.use" in response.json()["message"]


@pytest.mark.parametrize("days", [0, 3651])
def test_validity_must_be_between_one_day_and_ten_years(cast, days):
    with pytest.raises(InvalidInput) as caught:
        services.token_create(actor="test", user=cast.city_admin, days=days)
    assert caught.value.field == "days"


def test_revoking_twice_is_a_conflict_and_the_command_finds_by_prefix(cast):
    token, _ = services.token_create(actor="test", user=cast.city_admin)
    call_command("token", "revoke", token.prefix, stdout=StringIO())
    token.refresh_from_db()
    assert token.revoked_at is not None
    with pytest.raises(CommandError, match="已被吊销"):
        call_command("token", "revoke", token.prefix, stdout=StringIO())


def test_the_command_names_an_unknown_user(db):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("token", "create", "--user", "ghost")


def test_last_use_is_recorded_without_a_write_per_request(cast, client):
    token, raw = services.token_create(actor="test", user=cast.city_admin)
    client.get("/api/v1/regions/1201", **bearer(raw))
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    client.get("/api/v1/regions/1201", **bearer(raw))
    token.refresh_from_db()
    assert token.last_used_at == first
