"""One error hierarchy for the whole application.

Services raise these; the API renders them as ``{"message", "code", "extra"}`` with the
class's HTTP status, pages show the message, the CLI prints it and exits with status 2.
"""

from __future__ import annotations

from typing import ClassVar


class ApplicationError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "application_error"

    def __init__(self, message: str, *, extra: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}

    def as_dict(self) -> dict[str, object]:
        return {"message": self.message, "code": self.code, "extra": self.extra}


class ValidationFailed(ApplicationError):
    status = 422
    code = "validation_failed"


class NotFound(ApplicationError):
    """Also raised for objects outside the user's scope: they must not learn of them."""

    status = 404
    code = "not_found"


class PermissionDenied(ApplicationError):
    status = 403
    code = "permission_denied"


class Conflict(ApplicationError):
    status = 409
    code = "conflict"


class DuplicatePerson(Conflict):
    code = "duplicate_person"
