"""The ADE profile each school gets at Apple, and assigning it to the school's serials.

Central IT chooses what every school's profile shares (skipped Setup
Assistant panes, language, region, support email, whether Flokk's CA is an
anchor certificate); each school has its support phone and department
(central IT or the school's ICT contact). Flokk defines one profile per
school and token at Apple, again only when the definition changes (Apple
profiles cannot be edited), and assigns it to every serial expected at the
school whose current assignment differs — so a device moved to another
school gets the new school's profile at the next sync.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app import endpoints
from app.db import context
from app.errors import InvalidInput
from app.models.asm import AsmDefinedProfile, AsmDevice, AsmSchoolProfile, AsmSettings, AsmToken
from app.models.base import utcnow
from app.models.tenancy import School
from app.services import audit
from app.services.access import Permission, Principal, require, require_central
from app.services.bulk import id_in
from app.services.fleet.schools import get_school_by_code, organisation_for
from app.services.pki import certificate_authority
from mdm_protocol.asm import client as dep
from mdm_protocol.asm.profile import AdeProfile, ProfileDefinitionError, panes

#: Panes a pupil's iPad has no use for; central IT changes the list (`flokk asm settings --skip ...`).
DEFAULT_SKIP = ("AppleID", "Diagnostics", "iMessageAndFaceTime", "Payment", "Privacy", "ScreenTime", "Siri")
DEFAULT_LANGUAGE, DEFAULT_REGION = "nb", "NO"
_SETTINGS_FIELDS = ("skip_setup_items", "language", "region", "support_email", "anchor_flokk_ca")


@dataclass
class AssignReport:
    defined: int = 0  # profiles defined at Apple
    assigned: int = 0  # serials Apple answered SUCCESS for
    removed: int = 0  # serials no school expects any more, their profile removed at Apple
    refused: dict[str, int] = field(default_factory=dict)  # Apple's other answers, counted
    problems: list[str] = field(default_factory=list)


# --- settings ---------------------------------------------------------------------------


def get_settings(session: Session, principal: Principal) -> AsmSettings:
    """The organisation's ADE choices (defaults until central IT changes them)."""
    require_central(principal, Permission.VIEW)
    return _settings(session, organisation_for(session, None).id)


def update_settings(session: Session, principal: Principal, changes: Mapping[str, Any]) -> AsmSettings:
    require_central(principal)
    organisation = organisation_for(session, None)
    row = session.get(AsmSettings, organisation.id)
    if row is None:
        row = _settings(session, organisation.id)
        session.add(row)
    unknown = set(changes) - set(_SETTINGS_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown setting {sorted(unknown)[0]!r}")
    try:
        if "skip_setup_items" in changes:
            row.skip_setup_items = list(panes(changes["skip_setup_items"] or ()))
        for name in ("language", "region", "support_email"):
            if name in changes:
                setattr(row, name, (changes[name] or "").strip() or None)
        if "anchor_flokk_ca" in changes:
            row.anchor_flokk_ca = bool(changes["anchor_flokk_ca"])
        AdeProfile("check", "https://check", language=row.language, region=row.region,
                   support_email_address=row.support_email, skip_setup_items=tuple(row.skip_setup_items)).check()
    except ProfileDefinitionError as error:
        raise InvalidInput(str(error)) from None
    row.updated_by, row.updated_at = principal.label, utcnow()
    session.flush()
    _request_all(session)
    audit.record(session, principal, "asm.settings", details={name: _jsonable(getattr(row, name)) for name in _SETTINGS_FIELDS})
    return row


def school_profile(session: Session, principal: Principal, school_code: str) -> tuple[School, AsmSchoolProfile]:
    school = get_school_by_code(session, principal, school_code)
    row = session.get(AsmSchoolProfile, school.id) or AsmSchoolProfile(school_id=school.id)
    return school, row


def update_school_profile(
    session: Session, principal: Principal, school_code: str, *, support_phone: str | None, department: str | None
) -> AsmSchoolProfile:
    """What Setup Assistant shows pupils of one school (its ICT contact or central IT)."""
    school = get_school_by_code(session, principal, school_code)
    require(principal, Permission.MANAGE, school.id)
    row = session.get(AsmSchoolProfile, school.id)
    if row is None:
        row = AsmSchoolProfile(school_id=school.id)
        session.add(row)
    row.support_phone = (support_phone or "").strip() or None
    row.department = (department or "").strip() or None
    try:
        AdeProfile("check", "https://check", support_phone_number=row.support_phone, department=row.department).check()
    except ProfileDefinitionError as error:
        raise InvalidInput(str(error)) from None
    row.updated_by, row.updated_at = principal.label, utcnow()
    session.flush()
    _request_all(session)
    audit.record(session, principal, "asm.school_profile", school_id=school.id, target=school,
                 details={"support_phone": row.support_phone, "department": row.department})
    return row


def ade_profile(session: Session, school: School, settings: AsmSettings | None = None) -> AdeProfile:
    """The school's profile as Flokk defines it at Apple."""
    settings = settings or _settings(session, school.organisation_id)
    own = session.get(AsmSchoolProfile, school.id)
    anchors: tuple[bytes, ...] = ()
    if settings.anchor_flokk_ca:
        record = certificate_authority.active_record(session)
        if record is not None:
            certificate = x509.load_pem_x509_certificate(record.certificate_pem.encode())
            anchors = (certificate.public_bytes(serialization.Encoding.DER),)
    return AdeProfile(
        profile_name=f"{school.name} ({school.organisation.name})"[:255],
        url=context(session).settings.public_url + endpoints.ASM_ENROLL,
        department=(own.department if own and own.department else school.name)[:125],
        support_phone_number=own.support_phone if own else None,
        support_email_address=settings.support_email,
        language=settings.language,
        region=settings.region,
        skip_setup_items=tuple(settings.skip_setup_items or ()),
        anchor_certs=anchors,
    )


# --- at Apple ---------------------------------------------------------------------------


def assign_pending(
    session: Session, client: dep.DepClient, token: AsmToken, *, limit: int = dep.ASSIGN_BATCH,
    progress: Callable[[str], None] | None = None,
) -> AssignReport:
    """Define what changed and assign each school's profile to its serials whose assignment differs."""
    report = AssignReport()
    now = utcnow()
    school_ids = list(session.scalars(
        select(AsmDevice.school_id).distinct()
        .where(AsmDevice.token_id == token.id, AsmDevice.school_id.is_not(None), AsmDevice.deleted_at.is_(None))
    ))
    for school_id in school_ids:
        school = session.get(School, school_id)
        assert school is not None
        try:
            _ensure_defined(session, client, token, school, report, now)
        except (dep.DepRequestError, dep.ProtocolError, ProfileDefinitionError) as error:
            report.problems.append(f"{school.code}: {error}")
    defined = AsmDefinedProfile
    pending = session.execute(
        select(AsmDevice.id, AsmDevice.serial_number, defined.profile_uuid)
        .join(defined, and_(defined.token_id == AsmDevice.token_id, defined.school_id == AsmDevice.school_id))
        .where(
            AsmDevice.token_id == token.id,
            AsmDevice.deleted_at.is_(None),
            or_(AsmDevice.assigned_profile_uuid.is_(None), AsmDevice.assigned_profile_uuid != defined.profile_uuid),
            # Apple said NOT_ACCESSIBLE: asked again only once the device has changed since.
            or_(AsmDevice.assign_outcome.is_(None), AsmDevice.assign_outcome != "NOT_ACCESSIBLE",
                AsmDevice.assign_checked_at < AsmDevice.updated_at),
        )
        .order_by(defined.profile_uuid, AsmDevice.id)
    ).all()
    by_profile: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in pending:
        by_profile[row.profile_uuid].append((row.id, row.serial_number))
    for profile_uuid, items in by_profile.items():
        for start in range(0, len(items), limit):
            chunk = items[start : start + limit]
            result = client.assign_profile(profile_uuid, [serial for _, serial in chunk])
            _record_outcomes(session, chunk, profile_uuid, result, report, utcnow())
        if progress:
            progress(f"assigned profile {profile_uuid} to {len(items)} device(s)")
    _remove_from_unexpected(session, client, token, report, limit)
    return report


def _remove_from_unexpected(session: Session, client: dep.DepClient, token: AsmToken, report: AssignReport,
                            limit: int) -> None:
    """A device no school expects any more keeps no school's profile at Apple."""
    items = session.execute(
        select(AsmDevice.id, AsmDevice.serial_number).where(
            AsmDevice.token_id == token.id, AsmDevice.deleted_at.is_(None), AsmDevice.school_id.is_(None),
            AsmDevice.assigned_profile_uuid.is_not(None),
        ).order_by(AsmDevice.id)
    ).all()
    for start in range(0, len(items), limit):
        chunk = items[start : start + limit]
        result = client.remove_profile([row.serial_number for row in chunk])
        done = [row.id for row in chunk if result.devices.get(row.serial_number) in ("SUCCESS", "NOT_ACCESSIBLE")]
        if done:
            session.execute(update(AsmDevice).where(id_in(session, AsmDevice.id, done))
                            .values(assigned_profile_uuid=None, assign_outcome=None, assign_checked_at=utcnow())
                            .execution_options(synchronize_session=False))
        report.removed += len(done)


def _ensure_defined(
    session: Session, client: dep.DepClient, token: AsmToken, school: School, report: AssignReport, now: dt.datetime
) -> None:
    profile = ade_profile(session, school)
    fingerprint = profile.fingerprint()
    row = session.scalar(select(AsmDefinedProfile).where(AsmDefinedProfile.token_id == token.id,
                                                          AsmDefinedProfile.school_id == school.id))
    if row is not None and row.definition_hash == fingerprint:
        return
    result = client.define_profile(profile.to_json())
    if row is None:
        row = AsmDefinedProfile(token_id=token.id, school_id=school.id)
        session.add(row)
    row.profile_uuid, row.definition_hash, row.defined_at = result.profile_uuid, fingerprint, now
    session.flush()
    report.defined += 1
    audit.record(session, "system:asm", "asm.profile_define", school_id=school.id, target=("asm_profile", result.profile_uuid),
                 details={"token": token.id, "skip_setup_items": list(profile.skip_setup_items)})


def _record_outcomes(
    session: Session, chunk: list[tuple[int, str]], profile_uuid: str, result: dep.ProfileResult, report: AssignReport,
    now: dt.datetime,
) -> None:
    by_outcome: dict[str, list[int]] = defaultdict(list)
    for device_id, serial in chunk:
        outcome = result.devices.get(serial, "FAILED")
        if outcome == "SUCCESS":
            report.assigned += 1
        else:
            report.refused[outcome] = report.refused.get(outcome, 0) + 1
        if outcome != "THROTTLED":  # Apple asks to try later: left pending for the next sync
            by_outcome[outcome].append(device_id)
    for outcome, ids in by_outcome.items():  # one statement per outcome, not one per serial
        values: dict[str, Any] = {"assign_outcome": outcome, "assign_checked_at": now}
        if outcome == "SUCCESS":
            values["assigned_profile_uuid"] = profile_uuid
        session.execute(update(AsmDevice).where(id_in(session, AsmDevice.id, ids)).values(**values)
                        .execution_options(synchronize_session=False))


def _settings(session: Session, organisation_id: int) -> AsmSettings:
    row = session.get(AsmSettings, organisation_id)
    if row is not None:
        return row
    return AsmSettings(organisation_id=organisation_id, skip_setup_items=list(DEFAULT_SKIP), language=DEFAULT_LANGUAGE,
                       region=DEFAULT_REGION, anchor_flokk_ca=True)


def _request_all(session: Session) -> None:
    session.execute(update(AsmToken).values(sync_requested_at=utcnow()).execution_options(synchronize_session=False))


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value
