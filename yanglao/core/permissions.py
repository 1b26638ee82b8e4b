"""Named permissions. Code checks these names, never role names; accounts/roles.py says which role holds
which permission, so a deployment can change a role without touching a view."""

from __future__ import annotations

from enum import StrEnum


class Perm(StrEnum):
    # platform
    DASHBOARD_VIEW = "dashboard.view"
    USERS_MANAGE = "users.manage"
    TOKENS_MANAGE = "tokens.manage"
    AUDIT_VIEW = "audit.view"
    REGIONS_VIEW = "regions.view"
    JOBS_VIEW = "jobs.view"
    API_USE = "api.use"
    # people (registry and the apps that read it)
    ELDERS_VIEW = "elders.view"
    ELDERS_EDIT = "elders.edit"
    ELDERS_IMPORT = "elders.import"
    ELDERS_EXPORT = "elders.export"
    PII_VIEW = "pii.view"  # see ID and phone numbers unmasked (each view is logged)
    # assessment
    ASSESSMENTS_REQUEST = "assessments.request"
    ASSESSMENTS_PERFORM = "assessments.perform"
    ASSESSMENTS_REVIEW = "assessments.review"
    # money
    POLICIES_MANAGE = "policies.manage"
    BENEFITS_RUN = "benefits.run"
    BENEFITS_REVIEW = "benefits.review"
    BENEFITS_APPROVE = "benefits.approve"
    # supply and services
    PROVIDERS_MANAGE = "providers.manage"
    FACILITIES_MANAGE = "facilities.manage"
    ORDERS_CREATE = "orders.create"
    ORDERS_DISPATCH = "orders.dispatch"
    ORDERS_ACCEPT = "orders.accept"
    VISITS_PERFORM = "visits.perform"
    SETTLEMENT_VIEW = "settlement.view"
    MEALS_RECORD = "meals.record"
    # monitoring
    DEVICES_MANAGE = "devices.manage"
    ALARMS_HANDLE = "alarms.handle"
    TELEMETRY_INGEST = "telemetry.ingest"
    # oversight and outreach
    VISITS_CARE = "outreach.visit"
    INSPECTIONS_PERFORM = "inspections.perform"
    COMPLAINTS_HANDLE = "complaints.handle"
    VOLUNTEERING = "volunteers.participate"
    PORTAL_USE = "portal.use"
