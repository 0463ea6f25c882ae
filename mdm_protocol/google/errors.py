"""Google's errors as typed exceptions, each with a message an admin can act on.

Google answers errors as ``google.rpc.Status`` JSON (``{"error": {"code",
"message", "status", "details": [...]}}``; the Directory API also keeps the
older ``errors: [{"reason"}]`` list). The token endpoint answers OAuth 2.0
errors (``{"error": "invalid_grant", "error_description"}``). ``from_status``
and ``from_token_error`` read both into one of the classes below.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class GoogleError(Exception):
    """Something Google refused or could not do; ``message`` says what, for an admin."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason


class KeyFileError(GoogleError):
    """The service account key file is not one Google issued (not JSON, fields missing, no RSA key)."""


class SignInRefused(GoogleError):
    """The token endpoint refused the service account (wrong or revoked key, another project's key,
    an admin that does not exist)."""


class DelegationMissing(GoogleError):
    """Domain-wide delegation is not granted to the service account for every scope Flokk needs."""


class MissingScope(GoogleError):
    """The access token lacks a scope this call needs (403 ACCESS_TOKEN_SCOPE_INSUFFICIENT)."""


class ApiNotEnabled(GoogleError):
    """The API is not enabled in the service account's Google Cloud project (403 SERVICE_DISABLED)."""


class PermissionDenied(GoogleError):
    """The admin may not do this (403), e.g. a customer that is not theirs."""


class NotFound(GoogleError):
    """No such device, organisational unit, command or customer (404)."""


class InvalidArgument(GoogleError):
    """Google refused the request as invalid (400)."""


class RateLimited(GoogleError):
    """Quota exhausted (429, or the Directory API's 403 rateLimitExceeded); retried with back-off."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unavailable(GoogleError):
    """Google failed or could not be reached (5xx, timeouts); retried with back-off."""

    retryable = True


_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "RATE_LIMIT_EXCEEDED"})
_DISABLED_REASONS = frozenset({"SERVICE_DISABLED", "accessNotConfigured"})
_SCOPE_REASONS = frozenset({"ACCESS_TOKEN_SCOPE_INSUFFICIENT", "insufficientPermissions"})


def _reasons(error: Mapping[str, Any]) -> set[str]:
    found = set()
    for item in error.get("details") or ():
        if isinstance(item, Mapping) and isinstance(item.get("reason"), str):
            found.add(item["reason"])
    for item in error.get("errors") or ():
        if isinstance(item, Mapping) and isinstance(item.get("reason"), str):
            found.add(item["reason"])
    return found


def parse_status(body: bytes | str | None) -> dict[str, Any]:
    """The ``error`` object of a google.rpc.Status answer ({} when the body is not one)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        data = json.loads(body or "")
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def from_status(status: int, body: bytes | str | None, *, what: str, retry_after: float | None = None) -> GoogleError:
    """The typed error for an HTTP error answer of a Google API; ``what`` names the call."""
    error = parse_status(body)
    message = str(error.get("message") or f"HTTP {status}")
    reasons = _reasons(error)
    reason = next(iter(sorted(reasons)), None) or error.get("status")
    text = f"{what}: {message}"
    if status == 429 or reasons & _RATE_REASONS:
        return RateLimited(f"{what}: Google's quota is exhausted for now ({message})", status=status, reason=reason,
                           retry_after=retry_after)
    if status >= 500:
        return Unavailable(f"{what}: Google failed ({status}: {message})", status=status, reason=reason)
    if status == 401:
        return SignInRefused(f"{what}: Google did not accept Flokk's access token ({message})", status=status, reason=reason)
    if status == 403 and reasons & _DISABLED_REASONS:
        return ApiNotEnabled(f"{what}: the API is not enabled in the service account's Google Cloud project ({message})",
                             status=status, reason=reason)
    if status == 403 and (reasons & _SCOPE_REASONS or "scope" in message.lower()):
        return MissingScope(f"{what}: the access token lacks a scope this needs ({message})", status=status, reason=reason)
    if status == 403:
        return PermissionDenied(text, status=status, reason=reason)
    if status == 404:
        return NotFound(text, status=status, reason=reason)
    return InvalidArgument(text, status=status, reason=reason)


def from_token_error(code: str, description: str, *, client_id: str, scopes: tuple[str, ...]) -> GoogleError:
    """The typed error for an OAuth 2.0 error of the token endpoint."""
    if code == "unauthorized_client":
        return DelegationMissing(
            f"the service account (client id {client_id}) is not allowed domain-wide delegation for every scope Flokk "
            f"needs; in the Admin console (Security → API controls → Domain-wide delegation) add client id {client_id} "
            f"with the scopes {','.join(scopes)}",
            reason=code,
        )
    if code == "invalid_grant" and "signature" in description.lower():
        return SignInRefused(
            f"Google refused the key ({description}): it was deleted, or belongs to another project's service account",
            reason=code,
        )
    if code == "invalid_grant":
        return SignInRefused(f"Google refused to sign in as the admin ({description}): check the admin's email", reason=code)
    return SignInRefused(f"Google refused the service account: {code}: {description}", reason=code)
