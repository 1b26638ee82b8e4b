"""The JSON API under /api/v1/: one NinjaAPI, one error shape {code, message, details}."""

from __future__ import annotations

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from yanglao.accounts.api_auth import BearerToken, Session
from yanglao.assessments.api import router as assessments_router
from yanglao.benefits.api import router as benefits_router
from yanglao.core.api import router as core_router
from yanglao.core.errors import DomainError
from yanglao.facilities.api import router as facilities_router
from yanglao.monitoring.api import router as monitoring_router
from yanglao.monitoring.api_devices import router as devices_router
from yanglao.monitoring.api_ingest import router as ingest_router
from yanglao.orders.api import router as orders_router
from yanglao.orders.api_settlement import router as orders_settlement_router
from yanglao.providers.api import router as providers_router
from yanglao.regions.api import router as regions_router
from yanglao.registry.api import router as elders_router

api = NinjaAPI(
    title="Yanglao API",
    version="1",
    description="养老服务平台开放接口。Authentication: `Authorization: Bearer <token>` or a signed-in session.",
    urls_namespace="api",
    auth=[BearerToken(), Session()],
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _error(request, status: int, code: str, message: str, details=None):
    return api.create_response(
        request, {"code": code, "message": message, "details": details or []}, status=status
    )


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    details = []
    for error in exc.errors:
        location = [
            str(part) for part in error.get("loc", []) if part not in ("body", "query", "path", "payload")
        ]
        details.append(
            {"field": ".".join(location), "message": error.get("msg", ""), "type": error.get("type", "")}
        )
    fields = "、".join(d["field"] for d in details if d["field"]) or "请求"
    return _error(request, 422, "validation_error", f"请求数据有误：{fields}", details)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc: AuthenticationError):
    return _error(
        request, 401, "not_authenticated", "需要登录：请在 Authorization 头中提供 Bearer 令牌，或先登录"
    )


@api.exception_handler(Http404)
def on_not_found(request, exc: Http404):
    return _error(request, 404, "not_found", "请求的资源不存在")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return _error(request, exc.status_code, "http_error", str(exc))


api.add_router("/", core_router)
api.add_router("/regions", regions_router)
api.add_router("/elders", elders_router)
api.add_router("/assessments", assessments_router)
api.add_router("/benefits", benefits_router)
api.add_router("/providers", providers_router)
api.add_router("/facilities", facilities_router)
api.add_router("/", orders_router)
api.add_router("/", orders_settlement_router)
api.add_router("/", ingest_router)
api.add_router("/", devices_router)
api.add_router("/", monitoring_router)
