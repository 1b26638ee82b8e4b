"""Authentication for the JSON API: a bearer token (integrations, devices, scripts) or the browser
session (pages calling the API with htmx; CSRF checked on writes)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from yanglao.accounts.services import token_authenticate
from yanglao.core.errors import PermissionDenied
from yanglao.core.permissions import Perm


class BearerToken(HttpBearer):
    openapi_description = "API token made by `yanglao token create --user NAME`: `Authorization: Bearer yl_…`"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = token_authenticate(token)  # raises NotAuthenticated with the exact reason
        user = api_token.user
        user.token_scopes = frozenset(api_token.scopes)
        if not user.has_perm(Perm.API_USE) and not user.has_perm(Perm.TELEMETRY_INGEST):
            raise PermissionDenied("该令牌没有使用 API 的权限（api.use）")
        request.user = user
        return api_token


class Session(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if user.is_authenticated and user.is_active:
            return user
        return None
