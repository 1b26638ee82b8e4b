"""Sign-in with lockout, and role-based permissions for `user.has_perm`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from yanglao.accounts import services
from yanglao.accounts.roles import ROLE_PERMISSIONS


class LockoutModelBackend(ModelBackend):
    """Django's username/password check, refused while the name typed is locked out
    (settings.LOGIN_MAX_FAILURES failures within LOGIN_LOCK_MINUTES)."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ):
        if username is None or password is None:
            return None
        if services.login_is_locked(username):
            services.login_attempt_record(username=username, succeeded=False)
            # PermissionDenied stops Django trying other backends and counts as a failed login.
            raise PermissionDenied("locked")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        services.login_attempt_record(username=username, succeeded=user is not None)
        return user

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if not user_obj.is_active:
            return False
        if perm in ROLE_PERMISSIONS.get(getattr(user_obj, "role", ""), frozenset()):
            return True
        return super().has_perm(user_obj, perm, obj)
