"""Every endpoint declares who may call it, in one way: a decorator that records an ``AccessRule``.

- ``@requires(Permission.X)``: an admin endpoint; the signed-in principal must hold X
  in at least one school (the service then checks the object's school through
  ``app.services.access``). ``central=True``: X over every school.
- ``@signed_in``: any signed-in principal (sign out, change own password, "who am I").
- ``@public_endpoint``: no principal at all (sign-in page, health check, static files).
- ``@device_endpoint``: called by devices, which prove who they are in the request
  itself (SCEP challenge, enrollment token, MDM identity certificate); the view
  must check that.
- ``@monitoring_endpoint``: called by a monitoring system (Prometheus) with the
  bearer token ``FLOKK_METRICS_TOKEN``, checked here; refused when none is set.

The endpoint matrix test reads these rules from ``app.url_map``: an endpoint
without one fails the suite. Who the principal is (API token or dashboard
session) is decided by the blueprint, which stores it with ``set_principal``.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import g

from app.errors import Forbidden, Unauthenticated
from app.services import access
from app.services.access import Permission, Principal

F = TypeVar("F", bound=Callable[..., Any])

ADMIN = "admin"
SIGNED_IN = "signed_in"
PUBLIC = "public"
DEVICE = "device"
MONITORING = "monitoring"


@dataclass(frozen=True)
class AccessRule:
    audience: str
    permission: Permission | None = None
    central: bool = False


def rule_of(view: Callable[..., Any]) -> AccessRule | None:
    return getattr(view, "access_rule", None)


def set_principal(principal: Principal | None) -> None:
    g.flokk_principal = principal


def current_principal() -> Principal:
    """The authenticated principal of this request, or Unauthenticated."""
    principal = g.get("flokk_principal")
    if principal is None:
        raise Unauthenticated("sign in first")
    return principal


def _mark(view: F, rule: AccessRule) -> F:
    view.access_rule = rule  # type: ignore[attr-defined]
    return view


def requires(permission: Permission, *, central: bool = False) -> Callable[[F], F]:
    rule = AccessRule(ADMIN, permission, central)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if central:
                access.require_central(principal, permission)
            else:
                access.require_anywhere(principal, permission)
            return view(*args, **kwargs)

        return _mark(wrapper, rule)  # type: ignore[arg-type]

    return decorate


def signed_in(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_principal()
        return view(*args, **kwargs)

    return _mark(wrapper, AccessRule(SIGNED_IN))  # type: ignore[arg-type]


def public_endpoint(view: F) -> F:
    return _mark(view, AccessRule(PUBLIC))


def device_endpoint(view: F) -> F:
    return _mark(view, AccessRule(DEVICE))


def monitoring_endpoint(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from flask import request

        from app.http import settings

        expected = settings().metrics_token
        if expected is None:
            raise Forbidden("metrics are off: set FLOKK_METRICS_TOKEN and scrape with it as a bearer token")
        scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(offered.strip().encode(), expected.encode()):
            raise Unauthenticated("send FLOKK_METRICS_TOKEN as Authorization: Bearer <token>")
        return view(*args, **kwargs)

    return _mark(wrapper, AccessRule(MONITORING))  # type: ignore[arg-type]
