"""Domain errors raised by services; each entry point turns them into its own answer.

HTTP maps them to a status code with the message as the reason; the CLI prints
the message and exits with 1. Messages are written for the person who acted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class FlokkError(Exception):
    """Base of the errors a user can cause; never a bug."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = dict(details or {})

    def __str__(self) -> str:
        if not self.details:
            return self.message
        reasons = "; ".join(f"{key}: {' '.join(values)}" for key, values in self.details.items())
        return f"{self.message} ({reasons})"


class InvalidInput(FlokkError):
    status = 422
    code = "invalid_input"


class NotFound(FlokkError):
    """Also used for objects outside the principal's scope, so their existence does not leak."""

    status = 404
    code = "not_found"


class Forbidden(FlokkError):
    """The principal sees the object but lacks the right for this action."""

    status = 403
    code = "forbidden"


class Unauthenticated(FlokkError):
    status = 401
    code = "unauthenticated"


class Conflict(FlokkError):
    status = 409
    code = "conflict"


class Gone(FlokkError):
    status = 410
    code = "gone"


class NotReady(FlokkError):
    """A prerequisite that central IT must set up first (e.g. the push certificate)."""

    status = 409
    code = "not_ready"


class RateLimited(FlokkError):
    """Too many attempts (sign-in); the message says when to try again."""

    status = 429
    code = "too_many_requests"


class Unavailable(FlokkError):
    """An outside service Flokk needs for this (Feide, Microsoft Graph) did not answer; try again later."""

    status = 503
    code = "unavailable"
class PreconditionFailed(FlokkError):
    """``If-Match`` named a version that is no longer current: someone else saved in between."""

    status = 412
    code = "precondition_failed"
