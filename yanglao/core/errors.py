"""Typed domain errors. Services raise them; the API and the pages map them to an HTTP status and one
error shape, `{code, message, details}`, with a message a clerk can act on (in Chinese)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        details: list[dict[str, Any]] | dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        details = self.details
        if details is None and self.field:
            details = [{"field": self.field, "message": self.message}]
        return {"code": self.code, "message": self.message, "details": details or []}


class InvalidInput(DomainError):
    """The input breaks a rule (a bad ID number, an unknown code). Shown beside the field."""

    status = 400
    code = "invalid"


class Unprocessable(InvalidInput):
    """Well-formed input whose values break the rules (answers out of range): HTTP 422, each problem named
    in `details`."""

    status = 422
    code = "validation_error"


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"


class PermissionDenied(DomainError):
    """The actor's role or scope does not cover this object or action."""

    status = 403
    code = "forbidden"


class NotFound(DomainError):
    """Also used for objects outside the actor's scope, so scope does not leak existence."""

    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The request is valid but clashes with the current state (already done, changed meanwhile)."""

    status = 409
    code = "conflict"
