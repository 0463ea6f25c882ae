"""HTTPS to Google: a delegated service account token, Google's CAs (or ``SSL_CERT_FILE``), retries.

``authorized_http`` signs in as the service account acting as the admin
(domain-wide delegation: the JWT's ``sub`` is the admin) at the key file's
``token_uri``. ``Caller.execute`` sends one google-api-python-client
request: it retries 429, 5xx and network failures with exponential back-off
and jitter (honouring ``Retry-After``), and after a rate limit it paces the
following requests a little apart (quota awareness) until Google answers
normally again. Errors come out typed (``mdm_protocol.google.errors``).
"""

from __future__ import annotations

import email.utils
import os
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth import exceptions as auth_exceptions
from google.oauth2 import service_account
from googleapiclient.errors import HttpError

from mdm_protocol.google import errors
from mdm_protocol.google.keys import ServiceAccountKey

#: What Flokk asks for; each must be granted to the service account's client id
#: under domain-wide delegation in the Admin console.
SCOPES: tuple[str, ...] = (
    "https://www.googleapis.com/auth/admin.directory.customer.readonly",
    "https://www.googleapis.com/auth/admin.directory.device.chromeos",
    "https://www.googleapis.com/auth/admin.directory.orgunit",
    "https://www.googleapis.com/auth/chrome.management.policy",
)
TIMEOUT_SECONDS = 30


def trusted_ca_file() -> str | None:
    """The CA bundle Python's ssl module would trust: ``SSL_CERT_FILE`` when set (as for APNs), else
    the system's bundle; None lets httplib2 use its own copy of the public CAs."""
    cafile = ssl.get_default_verify_paths().cafile
    return cafile if cafile and os.path.isfile(cafile) else None


def authorized_http(key: ServiceAccountKey, admin_email: str, *, timeout: float = TIMEOUT_SECONDS) -> Any:
    """An httplib2 client that adds (and renews) the delegated access token to every request."""
    try:
        credentials = service_account.Credentials.from_service_account_info(
            dict(key.info), scopes=list(SCOPES), subject=admin_email
        )
    except (ValueError, KeyError) as error:
        raise errors.KeyFileError(f"Google's library cannot use the key file: {error}") from None
    http = httplib2.Http(ca_certs=trusted_ca_file(), timeout=timeout)
    return google_auth_httplib2.AuthorizedHttp(credentials, http=http)


@dataclass
class RetryPolicy:
    """How long to keep trying: ``attempts`` in all, waits doubling from ``base`` up to ``cap`` seconds."""

    attempts: int = 6
    base: float = 0.5
    cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(self.cap, max(0.0, retry_after))
        return min(self.cap, self.base * (2 ** (attempt - 1))) * (0.5 + self.jitter() / 2)


class Caller:
    """Executes requests with retries and pacing; one per client (not shared between threads)."""

    MAX_PACE = 5.0

    def __init__(self, policy: RetryPolicy | None = None) -> None:
        self.policy = policy or RetryPolicy()
        self.pace = 0.0  # seconds kept between requests after Google said "slow down"
        self.retries = 0
        self._last = 0.0

    def execute(self, request: Any, *, what: str, client_id: str = "") -> Any:
        for attempt in range(1, self.policy.attempts + 1):
            self._wait_for_pace()
            try:
                answer = request.execute(num_retries=0)
            except HttpError as error:
                failure = errors.from_status(error.resp.status, error.content, what=what,
                                             retry_after=_retry_after(error.resp))
            except auth_exceptions.RefreshError as error:
                failure = _token_failure(error, client_id)
            except auth_exceptions.TransportError as error:
                failure = errors.Unavailable(f"{what}: Google's token endpoint could not be reached ({error})")
            except (httplib2.HttpLib2Error, OSError) as error:
                failure = errors.Unavailable(f"{what}: Google could not be reached ({error.__class__.__name__}: {error})")
            else:
                self.pace = self.pace * 0.8 if self.pace > 0.01 else 0.0
                return answer
            if not failure.retryable or attempt == self.policy.attempts:
                raise failure
            if isinstance(failure, errors.RateLimited):
                self.pace = min(self.MAX_PACE, max(self.pace * 2, 0.2))
            self.retries += 1
            self.policy.sleep(self.policy.delay(attempt, getattr(failure, "retry_after", None)))
        raise AssertionError("unreachable")

    def _wait_for_pace(self) -> None:
        if self.pace > 0:
            remaining = self._last + self.pace - self.policy.clock()
            if remaining > 0:
                self.policy.sleep(remaining)
        self._last = self.policy.clock()


def _retry_after(response: Any) -> float | None:
    value = (response or {}).get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _token_failure(error: auth_exceptions.RefreshError, client_id: str) -> errors.GoogleError:
    data = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
    code, description = str(data.get("error") or ""), str(data.get("error_description") or "")
    if code:
        return errors.from_token_error(code, description, client_id=client_id, scopes=SCOPES)
    if getattr(error, "retryable", False):
        return errors.Unavailable(f"Google's token endpoint failed: {error}")
    return errors.SignInRefused(f"Google refused the service account: {error.args[0] if error.args else error}")
