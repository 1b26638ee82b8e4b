"""Roles (DOMAIN.md §0), what each may do, and how each is scoped. Code checks permission names
(core.permissions.Perm) through `user.has_perm(...)`; this table is the only place roles meet them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from yanglao.core.permissions import Perm


class Role(models.TextChoices):
    CITY_ADMIN = "city_admin", _("市民政局管理员")
    DISTRICT_STAFF = "district_staff", _("区/街道工作人员")
    COMMUNITY_WORKER = "community_worker", _("社区工作人员")
    ASSESSOR = "assessor", _("评估员")
    PROVIDER_ADMIN = "provider_admin", _("服务商管理员")
    CARE_WORKER = "care_worker", _("护理员")
    OPERATOR = "operator", _("呼叫中心坐席")
    CANTEEN_STAFF = "canteen_staff", _("助餐点工作人员")
    INSPECTOR = "inspector", _("监管人员")
    VOLUNTEER = "volunteer", _("志愿者")
    ELDER = "elder", _("老年人及家属")
    AUDITOR = "auditor", _("审计员")
    INTEGRATION = "integration", _("接口客户端/设备")


# Roles whose people-queries are limited to their organisation's work, on top of their region.
ORGANISATION_BOUND = frozenset({Role.ASSESSOR, Role.PROVIDER_ADMIN, Role.CARE_WORKER, Role.CANTEEN_STAFF})
# Roles that use the admin pages (users, tokens, audit trail).
STAFF_ROLES = frozenset({Role.CITY_ADMIN, Role.AUDITOR})

_P = Perm
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.CITY_ADMIN: frozenset(
        {
            _P.DASHBOARD_VIEW,
            _P.USERS_MANAGE,
            _P.TOKENS_MANAGE,
            _P.AUDIT_VIEW,
            _P.REGIONS_VIEW,
            _P.JOBS_VIEW,
            _P.API_USE,
            _P.ELDERS_VIEW,
            _P.ELDERS_EDIT,
            _P.ELDERS_IMPORT,
            _P.ELDERS_EXPORT,
            _P.PII_VIEW,
            _P.ASSESSMENTS_REQUEST,
            _P.ASSESSMENTS_REVIEW,
            _P.POLICIES_MANAGE,
            _P.BENEFITS_RUN,
            _P.BENEFITS_REVIEW,
            _P.BENEFITS_APPROVE,
            _P.PROVIDERS_MANAGE,
            _P.FACILITIES_MANAGE,
            _P.ORDERS_CREATE,
            _P.ORDERS_DISPATCH,
            _P.SETTLEMENT_VIEW,
            _P.DEVICES_MANAGE,
            _P.ALARMS_HANDLE,
            _P.COMPLAINTS_HANDLE,
        }
    ),
    Role.DISTRICT_STAFF: frozenset(
        {
            _P.DASHBOARD_VIEW,
            _P.REGIONS_VIEW,
            _P.JOBS_VIEW,
            _P.API_USE,
            _P.ELDERS_VIEW,
            _P.ELDERS_EDIT,
            _P.ELDERS_IMPORT,
            _P.ELDERS_EXPORT,
            _P.ASSESSMENTS_REQUEST,
            _P.ASSESSMENTS_REVIEW,
            _P.BENEFITS_REVIEW,
            _P.FACILITIES_MANAGE,
            _P.ORDERS_CREATE,
            _P.ORDERS_DISPATCH,
            _P.SETTLEMENT_VIEW,
            _P.DEVICES_MANAGE,
            _P.COMPLAINTS_HANDLE,
        }
    ),
    Role.COMMUNITY_WORKER: frozenset(
        {
            _P.DASHBOARD_VIEW,
            _P.REGIONS_VIEW,
            _P.JOBS_VIEW,
            _P.API_USE,
            _P.ELDERS_VIEW,
            _P.ELDERS_EDIT,
            _P.ELDERS_IMPORT,
            _P.ELDERS_EXPORT,
            _P.PII_VIEW,
            _P.ASSESSMENTS_REQUEST,
            _P.ORDERS_CREATE,
            _P.VISITS_CARE,
            _P.ALARMS_HANDLE,
            _P.DEVICES_MANAGE,  # they record the devices installed in their elders' homes
        }
    ),
    Role.ASSESSOR: frozenset({_P.DASHBOARD_VIEW, _P.API_USE, _P.ELDERS_VIEW, _P.ASSESSMENTS_PERFORM}),
    Role.PROVIDER_ADMIN: frozenset(
        {_P.DASHBOARD_VIEW, _P.API_USE, _P.ELDERS_VIEW, _P.ORDERS_ACCEPT, _P.SETTLEMENT_VIEW, _P.JOBS_VIEW}
    ),
    Role.CARE_WORKER: frozenset({_P.ELDERS_VIEW, _P.VISITS_PERFORM}),
    Role.OPERATOR: frozenset(
        {
            _P.DASHBOARD_VIEW,
            _P.API_USE,
            _P.ELDERS_VIEW,
            _P.PII_VIEW,
            _P.ALARMS_HANDLE,
            _P.ORDERS_CREATE,
            _P.VISITS_CARE,
        }
    ),
    Role.CANTEEN_STAFF: frozenset({_P.DASHBOARD_VIEW, _P.ELDERS_VIEW, _P.MEALS_RECORD}),
    Role.INSPECTOR: frozenset(
        {_P.DASHBOARD_VIEW, _P.REGIONS_VIEW, _P.ELDERS_VIEW, _P.INSPECTIONS_PERFORM, _P.COMPLAINTS_HANDLE}
    ),
    Role.VOLUNTEER: frozenset({_P.VOLUNTEERING}),
    Role.ELDER: frozenset({_P.PORTAL_USE}),
    Role.AUDITOR: frozenset({_P.DASHBOARD_VIEW, _P.AUDIT_VIEW, _P.REGIONS_VIEW}),
    Role.INTEGRATION: frozenset({_P.API_USE, _P.TELEMETRY_INGEST, _P.REGIONS_VIEW}),
}

# The division levels a role's region may be at; a role missing here may be scoped at any level.
ROLE_REGION_LEVELS: dict[str, frozenset[str]] = {
    Role.CITY_ADMIN: frozenset({"province", "city"}),
    Role.DISTRICT_STAFF: frozenset({"district", "street"}),
    Role.COMMUNITY_WORKER: frozenset({"community"}),
    Role.AUDITOR: frozenset({"province", "city"}),
}
