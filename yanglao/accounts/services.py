"""Writes for accounts: users, organisations, sign-in attempts and API tokens. Each public service
runs in one transaction and writes its audit record in it."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from yanglao.accounts.models import ApiToken, LoginAttempt, Organisation, User
from yanglao.accounts.roles import (
    ORGANISATION_BOUND,
    ROLE_PERMISSIONS,
    ROLE_REGION_LEVELS,
    STAFF_ROLES,
    Role,
)
from yanglao.accounts.scope import require_region
from yanglao.core import audit, creditcode, pii
from yanglao.core.errors import Conflict, InvalidInput, NotAuthenticated
from yanglao.core.middleware import current_ip
from yanglao.core.permissions import Perm
from yanglao.regions.models import Level
from yanglao.regions.selectors import region_get

TOKEN_PREFIX = "yl_"
# Writing last_used_at on every request would turn every API read into a write.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


# --- sign-in -------------------------------------------------------------------------------------
def _login_key(username: str) -> str:
    return username.strip().lower()[:150]


def login_is_locked(username: str) -> bool:
    """Locked while the last LOGIN_MAX_FAILURES attempts within LOGIN_LOCK_MINUTES all failed."""
    since = timezone.now() - timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    recent = list(
        LoginAttempt.objects.filter(username=_login_key(username), at__gte=since)
        .order_by("-at")
        .values_list("succeeded", flat=True)[: settings.LOGIN_MAX_FAILURES]
    )
    return len(recent) >= settings.LOGIN_MAX_FAILURES and not any(recent)


@transaction.atomic
def login_attempt_record(*, username: str, succeeded: bool) -> LoginAttempt:
    """Keep every sign-in attempt; the table is itself the sign-in audit trail."""
    return LoginAttempt.objects.create(username=_login_key(username), succeeded=succeeded, ip=current_ip())


@transaction.atomic
def login_unlock(*, actor: Any, username: str) -> int:
    """Lift a sign-in lock before it runs out (a help-desk action); returns the failures cleared."""
    since = timezone.now() - timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    cleared, _ = LoginAttempt.objects.filter(
        username=_login_key(username), succeeded=False, at__gte=since
    ).delete()
    audit.record(
        actor, "login.unlock", object_type="accounts.user", object_id=username, after={"cleared": cleared}
    )
    return cleared


# --- organisations and users ---------------------------------------------------------------------
@transaction.atomic
def organisation_create(
    *, actor: Any, name: str, kind: str, region_code: str, credit_code: str | None = None
) -> Organisation:
    """Register an organisation whose staff sign in; its credit code is checked by GB 32100."""
    if not name.strip():
        raise InvalidInput("请填写机构名称", field="name")
    if kind not in Organisation.Kind.values:
        raise InvalidInput(f"机构类别“{kind}”无效", field="kind")
    region = region_get(region_code, field="region")
    code = creditcode.parse(credit_code, field="credit_code") if credit_code else None
    if code and Organisation.objects.filter(credit_code=code).exists():
        raise Conflict(f"统一社会信用代码 {code} 已登记", field="credit_code")
    organisation = Organisation.objects.create(name=name.strip(), kind=kind, region=region, credit_code=code)
    audit.record(
        actor,
        "organisation.create",
        organisation,
        region_code=region.code,
        after={"name": organisation.name, "kind": kind, "credit_code": code},
    )
    return organisation


def check_scope(role: str, region_code: str | None, organisation: Organisation | None) -> Any:
    """The region (or None) for a user of `role`; InvalidInput when the scope does not suit the role."""
    if role not in Role.values:
        raise InvalidInput(f"角色“{role}”无效", field="role")
    region = region_get(region_code, field="region") if region_code else None
    if region is None and role not in (Role.INTEGRATION,):
        raise InvalidInput("请选择管辖区域", field="region")
    allowed = ROLE_REGION_LEVELS.get(role)
    if region is not None and allowed and region.level not in allowed:
        raise InvalidInput(
            f"{Role(role).label}的管辖区域应为{'或'.join(str(Level(v).label) for v in sorted(allowed))}，"
            f"“{region.name}”是{region.get_level_display()}",
            field="region",
        )
    if role in ORGANISATION_BOUND and organisation is None:
        raise InvalidInput(f"{Role(role).label}必须属于一个机构", field="organisation")
    return region


@transaction.atomic
def user_create(
    *,
    actor: Any,
    username: str,
    password: str,
    role: str,
    region_code: str | None = None,
    organisation: Organisation | None = None,
    full_name: str = "",
    phone: str = "",
) -> User:
    """Create a user with one role and its scope; a city user may only create users inside its region."""
    username = username.strip()
    if not username:
        raise InvalidInput("请填写用户名", field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"用户名“{username}”已被使用", field="username")
    region = check_scope(role, region_code, organisation)
    if region is not None and getattr(actor, "is_authenticated", False):
        require_region(actor, region.code)
    user = User(
        username=username,
        full_name=full_name.strip(),
        role=role,
        region=region,
        organisation=organisation,
        phone=pii.parse_phone(phone) if phone else "",
        is_staff=role in STAFF_ROLES,
    )
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise InvalidInput("密码不符合要求：" + "；".join(error.messages), field="password") from None
    user.set_password(password)
    user.save()
    audit.record(
        actor,
        "user.create",
        user,
        region_code=region.code if region else "",
        after={"username": username, "role": role, "organisation": organisation, "phone": user.phone},
    )
    return user


# --- API tokens ----------------------------------------------------------------------------------
def _token_hash(raw: str) -> str:
    # The token is 256 random bits, so a plain hash is enough: there is nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(
    *, actor: Any, user: User, name: str = "", days: int | None = None, scopes: list[str] | None = None
) -> tuple[ApiToken, str]:
    """Make an API token for `user`; returns the token row and the token text, shown only this once."""
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= 3650:
        raise InvalidInput(f"有效天数应在1到3650之间，现为{days}", field="days")
    if not user.is_active:
        raise InvalidInput(f"用户“{user.username}”已停用，不能签发令牌", field="user")
    held = set(Perm) if user.is_superuser else ROLE_PERMISSIONS.get(user.role, frozenset())
    wanted = sorted(held) if not scopes else sorted(set(scopes))
    unknown = [s for s in wanted if s not in set(Perm)]
    if unknown:
        raise InvalidInput("未知的权限范围：" + "、".join(unknown), field="scopes")
    beyond = [s for s in wanted if s not in held]
    if beyond:
        raise InvalidInput("令牌不能超出用户自身的权限：" + "、".join(beyond), field="scopes")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        key_hash=_token_hash(raw),
        scopes=wanted,
        expires_at=timezone.now() + timedelta(days=days),
    )
    audit.record(
        actor,
        "token.create",
        token,
        region_code=user.region_id or "",
        after={"user": user.username, "name": token.name, "days": days, "scopes": wanted},
    )
    return token, raw


@transaction.atomic
def token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    """Revoke a token at once; a revoked token is refused with its own message."""
    if token.revoked_at is not None:
        raise Conflict("该令牌已被吊销", field="token")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(actor, "token.revoke", token, region_code=token.user.region_id or "")
    return token


def token_authenticate(raw: str) -> ApiToken:
    """The usable token for `raw`, or NotAuthenticated saying exactly what is wrong with it."""
    raw = (raw or "").strip()
    if not raw.startswith(TOKEN_PREFIX) or len(raw) < 20:
        raise NotAuthenticated("API 令牌格式不正确（应以 yl_ 开头）", code="token_malformed")
    token = ApiToken.objects.select_related("user").filter(key_hash=_token_hash(raw)).first()
    if token is None:
        raise NotAuthenticated("API 令牌无效：没有这个令牌", code="token_invalid")
    if token.revoked_at is not None:
        raise NotAuthenticated(
            f"API 令牌已于 {timezone.localtime(token.revoked_at):%Y-%m-%d %H:%M} 吊销", code="token_revoked"
        )
    if token.is_expired:
        raise NotAuthenticated(
            f"API 令牌已于 {timezone.localtime(token.expires_at):%Y-%m-%d %H:%M} 过期，请重新申请",
            code="token_expired",
        )
    if not token.user.is_active:
        raise NotAuthenticated("该令牌所属用户已停用", code="user_inactive")
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
