"""Connecting a Google Workspace for Education domain, and its status.

Central IT gives a service account key (domain-wide delegation), the admin
to act as and optionally the customer id and the parent organisational unit
of the schools. Flokk tests the connection before saving anything: the key
file, the sign-in (delegated scopes), the customer, the Admin SDK and the
Chrome Policy API. Each failure is one clear error and nothing is saved.
The key is sealed at rest and never logged or shown again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import context
from app.errors import InvalidInput
from app.models.base import utcnow
from app.models.google import Chromebook, GoogleConnection, GoogleOrgUnit
from app.models.tenancy import School
from app.services import audit
from app.services.access import Permission, Principal, require_central
from app.services.fleet import schools
from app.services.google import KEY_LABEL, connection_of, refused, require_connection, retry_policy
from app.services.google.org_units import normalise_path
from mdm_protocol.google import errors
from mdm_protocol.google.client import GoogleClient
from mdm_protocol.google.keys import ServiceAccountKey, parse_key

_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
_CUSTOMER = re.compile(r"C[0-9A-Za-z]{4,30}|my_customer")


def _client(key: ServiceAccountKey, admin: str, customer: str, settings: Any) -> GoogleClient:
    return GoogleClient(key, admin, customer=customer, admin_url=settings.google_admin_url,
                        policy_url=settings.google_policy_url, retry=retry_policy())


def connect(
    session: Session,
    principal: Principal,
    key_file: bytes | str,
    admin_email: str,
    *,
    customer: str | None = None,
    parent_ou: str = "/",
    recent_users: bool = False,
    organisation: str | None = None,
) -> GoogleConnection:
    """Test the domain with this key and save the connection (replacing an earlier one)."""
    require_central(principal)
    target = schools.organisation_for(session, organisation)
    admin_email = admin_email.strip()
    if not _EMAIL.fullmatch(admin_email):
        raise InvalidInput("name the admin to act as by their email", details={"admin": ["Not an email address."]})
    customer = (customer or "my_customer").strip()
    if not _CUSTOMER.fullmatch(customer):
        raise InvalidInput("a Google customer id looks like C01abc2de (Admin console → Account settings)",
                           details={"customer": ["Not a customer id."]})
    parent_path = normalise_path(parent_ou)
    try:
        key = parse_key(key_file)
    except errors.KeyFileError as error:
        raise InvalidInput(f"the key file cannot be used: {error.message}", details={"key": [error.message]}) from None
    client = _client(key, admin_email, customer, context(session).settings)
    info, parent = _test(client, customer, parent_path)
    connection = connection_of(session, target.id) or GoogleConnection(organisation_id=target.id)
    replaced = connection.id is not None
    connection.customer_id = str(info["id"])
    connection.domain = str(info.get("customerDomain") or "")[:255] or None
    connection.admin_email = admin_email
    connection.client_email, connection.client_id = key.client_email, key.client_id
    connection.project_id, connection.key_id = key.project_id, key.private_key_id
    connection.sealed_key = context(session).secrets.seal(key.to_json(), label=KEY_LABEL)
    connection.store_recent_users = recent_users
    connection.connected_by, connection.connected_at = principal.label, utcnow()
    connection.last_sync_error = None
    session.add(connection)
    _set_parent(session, principal, target.id, parent_path, str(parent["orgUnitId"]))
    session.flush()
    audit.record(session, principal, "google.connect", target=("google_connection", connection.customer_id),
                 details={"customer": connection.customer_id, "domain": connection.domain, "admin": admin_email,
                          "service_account": key.client_email, "key_id": key.private_key_id, "parent_ou": parent_path,
                          "recent_users": recent_users, "replaced": replaced})
    return connection


def _test(client: GoogleClient, customer: str, parent_path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every call Flokk will make, once; the first failure becomes the error."""
    step = "signing in as the service account"
    try:
        step = "reading the customer"
        info = client.customer_info(customer)
        if customer != "my_customer" and info.get("id") != customer:
            raise InvalidInput(f"the admin's domain is customer {info.get('id')}, not {customer}",
                               details={"customer": ["Not this admin's customer."]})
        client.customer = str(info["id"])
        step = f"finding the organisational unit {parent_path}"
        parent = client.org_unit(parent_path)
        step = "listing Chromebooks"
        client.device_page(max_results=1)
        step = "reading Chrome policies"
        client.resolve(str(parent["orgUnitId"]).removeprefix("id:"), "chrome.users.VideoInput")
    except errors.DelegationMissing as error:
        raise InvalidInput(f"Google refused the connection: {error.message}", details={"key": ["Missing scope."]}) from None
    except errors.MissingScope as error:
        raise InvalidInput(f"Google refused the connection while {step}: a scope is missing ({error.message})",
                           details={"key": ["Missing scope."]}) from None
    except errors.ApiNotEnabled as error:
        raise InvalidInput(f"Google refused the connection while {step}: {error.message}",
                           details={"key": ["API not enabled."]}) from None
    except (errors.PermissionDenied, errors.NotFound) as error:
        if step == "reading the customer":
            raise InvalidInput(f"Google refused the customer {customer}: the admin does not belong to it ({error.message})",
                               details={"customer": ["Wrong customer."]}) from None
        raise InvalidInput(f"Google refused the connection while {step}: {error.message}",
                           details={"parent_ou": [error.message]} if "organisational unit" in step else None) from None
    except errors.SignInRefused as error:
        raise InvalidInput(f"Google refused the connection: {error.message}", details={"key": ["Refused."]}) from None
    except errors.GoogleError as error:
        raise refused(error, f"testing the connection while {step}") from None
    return info, parent


def _set_parent(session: Session, principal: Principal, organisation_id: int, path: str, ou_id: str) -> None:
    """The parent unit's row: where the baseline (and so every lock) is applied."""
    row = session.scalar(select(GoogleOrgUnit).where(GoogleOrgUnit.organisation_id == organisation_id,
                                                     GoogleOrgUnit.school_id.is_(None)))
    ou_id = ou_id.removeprefix("id:")
    if row is not None and row.ou_id == ou_id:
        return
    clash = session.scalar(select(GoogleOrgUnit).where(GoogleOrgUnit.organisation_id == organisation_id,
                                                       GoogleOrgUnit.ou_id == ou_id))
    if clash is not None and clash is not row:
        raise InvalidInput(f"{path} is already mapped to a school; the parent unit must be above the schools' units",
                           details={"parent_ou": ["Already a school's unit."]})
    if row is None:
        row = GoogleOrgUnit(organisation_id=organisation_id, created_by=principal.label)
        session.add(row)
    row.ou_path, row.ou_id, row.applied, row.networks, row.drift = path, ou_id, {}, {}, []


# ------------------------------------------------------------------ status


@dataclass
class Status:
    connection: GoogleConnection | None
    parent: GoogleOrgUnit | None = None
    units: list[GoogleOrgUnit] = field(default_factory=list)
    chromebooks: dict[str, int] = field(default_factory=dict)
    schools: dict[int, str] = field(default_factory=dict)


def status(session: Session, principal: Principal, *, organisation: str | None = None) -> Status:
    """The connection (never its key), the organisational units, how many Chromebooks where; central IT only."""
    require_central(principal, Permission.VIEW)
    target = schools.organisation_for(session, organisation)
    connection = connection_of(session, target.id)
    if connection is None:
        return Status(None)
    units = list(session.scalars(
        select(GoogleOrgUnit).where(GoogleOrgUnit.organisation_id == target.id).order_by(GoogleOrgUnit.ou_path)))
    parent = next((unit for unit in units if unit.school_id is None), None)
    counts = dict(session.execute(
        select(Chromebook.missing_since.is_(None), func.count())
        .join(School, School.id == Chromebook.school_id)
        .where(School.organisation_id == target.id)
        .group_by(Chromebook.missing_since.is_(None))
    ).all())
    names = dict(session.execute(select(School.id, School.code).where(School.organisation_id == target.id)).all())
    return Status(connection, parent, [unit for unit in units if unit is not parent],
                  {"in_google": counts.get(True, 0), "gone_from_google": counts.get(False, 0)}, names)


def request_sync(session: Session, principal: Principal, *, full: bool = False, organisation: str | None = None) -> GoogleConnection:
    """Ask the scheduler to sync soon (a sync of a large fleet outlives a web request)."""
    require_central(principal, Permission.COMMAND)
    connection = require_connection(session, schools.organisation_for(session, organisation).id)
    connection.sync_requested_at = utcnow()
    connection.sync_requested_full = connection.sync_requested_full or full
    audit.record(session, principal, "google.sync.request", target=("google_connection", connection.customer_id),
                 details={"full": full})
    return connection
