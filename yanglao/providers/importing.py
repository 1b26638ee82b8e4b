"""Importing care workers from Excel/CSV, with the registry's row-level error workbook (core.rowimport).

Each row goes through worker_register or worker_update (and worker_add_certificate when the row names a
certificate), so a file is held to the rules of the form and the API. A worker is matched by ID number
through its keyed hash; a blank cell changes nothing, so importing a file twice changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from yanglao.accounts.roles import Role
from yanglao.accounts.selectors import organisation_by_credit_code
from yanglao.core import rowimport
from yanglao.core.errors import DomainError, InvalidInput, PermissionDenied
from yanglao.core.fields import lookup_value
from yanglao.core.permissions import Perm
from yanglao.providers import services
from yanglao.providers.enums import CertificateGrade
from yanglao.providers.models import CareWorker, Certificate

HEADERS = {
    "姓名": "name",
    "身份证号码": "id_number",
    "所属机构统一社会信用代码": "organisation",
    "手机号码": "phone",
    "入职日期": "hired_on",
    "健康证有效期至": "health_certificate_expires",
    "证书等级": "certificate_grade",
    "证书编号": "certificate_number",
    "发证日期": "certificate_issued_on",
    "备注": "note",
}
REQUIRED = {"name", "id_number", "organisation"}
_CERTIFICATE = ("certificate_grade", "certificate_number", "certificate_issued_on")


def _apply(actor: Any, values: dict[str, Any]) -> str:
    facts = {name: value for name, value in values.items() if not rowimport.is_blank(value)}
    certificate = {name: facts.pop(name) for name in _CERTIFICATE if name in facts}
    if "organisation" in facts:
        facts["organisation"] = organisation_by_credit_code(
            facts["organisation"], field="organisation", role="服务机构"
        )
    existing = None
    if facts.get("id_number"):
        existing = CareWorker.objects.filter(
            id_number_hash=lookup_value(CareWorker, "id_number", str(facts["id_number"]))
        ).first()
    if existing is None:
        worker = services.worker_register(actor=actor, **facts)
        outcome = "created"
    else:
        stamp = existing.updated_at
        facts.pop("id_number", None)  # matched by it: unchanged by definition
        worker = services.worker_update(actor=actor, worker=existing, **facts)
        outcome = "unchanged" if worker.updated_at == stamp else "updated"
    if certificate:
        missing = [name for name in _CERTIFICATE if name not in certificate]
        if missing:
            names = "、".join(HEADER_OF[n] for n in missing)
            raise InvalidInput(f"登记证书时请同时填写：{names}", field=missing[0])
        number = str(certificate["certificate_number"]).strip()
        if not Certificate.objects.filter(worker=worker, number=number).exists():
            try:
                services.worker_add_certificate(
                    actor=actor,
                    worker=worker,
                    grade=str(certificate["certificate_grade"]).strip(),
                    number=number,
                    issued_on=certificate["certificate_issued_on"],
                )
            except DomainError as error:
                raise _as_import_columns(error) from None
            outcome = "updated" if outcome == "unchanged" else outcome
    return outcome


HEADER_OF = {field_name: header for header, field_name in HEADERS.items()}
# The certificate service names its fields grade/number/issued_on; the file's columns are these.
_CERTIFICATE_FIELD = {
    "grade": "certificate_grade",
    "number": "certificate_number",
    "issued_on": "certificate_issued_on",
}


def _as_import_columns(error: DomainError) -> DomainError:
    details = error.details if isinstance(error.details, list) else None
    if details:
        error.details = [
            {**d, "field": _CERTIFICATE_FIELD.get(str(d.get("field")), d.get("field"))} for d in details
        ]
    if error.field:
        error.field = _CERTIFICATE_FIELD.get(error.field, error.field)
    return error


def may_import(actor: Any) -> bool:
    """The bureau imports any provider's workers; a provider admin their own organisation's staff."""
    if not getattr(actor, "is_authenticated", False):
        return True  # a named system job
    return actor.has_perm(Perm.PROVIDERS_MANAGE) or (
        actor.role == Role.PROVIDER_ADMIN and actor.organisation_id is not None
    )


def workers_import(
    *, actor: Any, path: str | Path, errors_path: str | Path | None = None, progress: Any = None
) -> rowimport.ImportResult:
    """Register or update care workers from a spreadsheet; rejected rows go to the error workbook.
    Who may import whom is the worker services' rule (the bureau, or a provider for its own staff)."""
    if not may_import(actor):
        raise PermissionDenied("您的角色不能导入护理员")
    return rowimport.import_rows(
        path=path,
        headers=HEADERS,
        required=REQUIRED,
        apply_row=lambda values: _apply(actor, values),
        errors_path=errors_path,
        title="护理员导入",
        progress=progress,
    )


def template_workbook() -> bytes:
    return rowimport.header_template(
        HEADERS,
        REQUIRED,
        sheet_name="护理员",
        choices={
            "证书等级": "、".join(str(label) for label in CertificateGrade.labels),
            "日期": "2026-03-01，或 Excel 日期",
        },
    )
