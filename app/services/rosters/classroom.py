"""Apple Classroom for a class: its education payload, and installing it on the teacher's and the class's iPads.

The class (a roster class: a Flokk group with its teachers and pupils) becomes
a Classroom group whose devices are the group's enrolled iPads. Each device
gets its own identity certificate from Flokk's CA (common name ``leader …`` on
the teacher's iPad, ``member …`` on the class's), recorded like every
certificate Flokk issues (bound to that device, revocable with
``flokk ca revoke``); the CA itself is the peers' trust anchor. The profiles are
signed like policy profiles and queued as InstallProfile; their identifiers
sit beside the policy's namespace, so policy reconciliation leaves them alone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models.devices import Device, EnrollmentState, Platform
from app.models.rosters import RosterClass
from app.models.tenancy import Group
from app.services import audit
from app.services.access import Permission, Principal, get_for
from app.services.mdm import commands
from app.services.pki import certificate_authority, certificates
from app.services.policy.signing import sign_profile
from app.services.policy.situations import compile_options
from app.services.rosters import class_of_group
from app.services.rosters.roster_csv import TEACHER
from profiles import classroom
from profiles.compile.apple import validate_profile

_APPLE = (Platform.IPADOS, Platform.IOS, Platform.MACOS)
CERTIFICATE_KEY_BITS = 2048


@dataclass(frozen=True)
class ClassView:
    """What a class's Classroom payload says: for the dashboard and the API (no keys in it)."""

    group: Group
    roster: RosterClass
    item: classroom.ClassroomClass
    payload: dict[str, Any]


@dataclass(frozen=True)
class Installed:
    leader_device_id: int
    member_device_ids: list[int]
    identifier: str


def class_devices(session: Session, group_id: int) -> list[Device]:
    return list(session.scalars(
        select(Device).where(Device.group_id == group_id, Device.platform.in_(_APPLE),
                             Device.enrollment_state == EnrollmentState.ENROLLED)
        .order_by(Device.serial_number, Device.id)
    ))


def classroom_class(session: Session, found: RosterClass) -> classroom.ClassroomClass:
    teachers = tuple(classroom.Person(m.person_id, m.name) for m in found.members if m.role == TEACHER)
    pupils = tuple(classroom.Person(m.person_id, m.name) for m in found.members if m.role != TEACHER)
    if found.id > classroom.MAX_BEACON_ID:
        raise InvalidInput(f"class {found.group.name} has no free Classroom beacon id (more than 65,535 classes)")
    return classroom.ClassroomClass(
        beacon_id=found.id, name=found.group.name, device_group=f"flokk-group-{found.group_id}",
        teachers=teachers, pupils=pupils,
        serial_numbers=tuple(device.serial_number for device in class_devices(session, found.group_id) if device.serial_number),
    )


def describe(session: Session, principal: Principal, group_id: int) -> ClassView:
    """The class's leader payload as its teacher's iPad would get it (identity left out), for who sees the class."""
    found = class_of_group(session, principal, group_id)
    item = classroom_class(session, found)
    organisation = found.group.school.organisation.name
    identifier = f"{compile_options(session, found.group.school.organisation_id).identifier_prefix}.classroom.{item.device_group}"
    payload = classroom.education_payload(
        item, role=classroom.LEADER, organisation=organisation, identifier=identifier,
        identity_uuid="(the teacher's iPad's own identity)", anchor_uuid="",
        user_identifier=item.teachers[0].identifier if item.teachers else None,
    )
    return ClassView(found.group, found, item, payload)


def install(
    session: Session, principal: Principal, group_id: int, *, teacher_device_id: int, teacher: str | None = None
) -> Installed:
    """Queue the leader profile to the teacher's iPad and a member profile to each of the class's iPads."""
    found = class_of_group(session, principal, group_id)
    get_for(session, Group, found.group_id, principal, Permission.MANAGE)
    leader_device = get_for(session, Device, teacher_device_id, principal, Permission.MANAGE)
    if leader_device.school_id != found.school_id:
        raise InvalidInput("the teacher's iPad belongs to another school", details={"teacher_device_id": ["Not of this school."]})
    if leader_device.platform not in _APPLE or leader_device.enrollment_state != EnrollmentState.ENROLLED:
        raise InvalidInput("the teacher's device is not an enrolled iPad", details={"teacher_device_id": ["Not an enrolled iPad."]})
    item = classroom_class(session, found)
    teacher_id = _teacher(item, teacher)
    members = [device for device in class_devices(session, found.group_id) if device.id != leader_device.id]
    if not members:
        raise InvalidInput(f"class {item.name} has no enrolled iPads to lead")
    options = compile_options(session, found.group.school.organisation_id)
    namespace = options.identifier_prefix + "."
    organisation = found.group.school.organisation.name
    authority = certificate_authority.load_ca(session)
    record = certificate_authority.active_record(session)
    anchor = authority.certificate.public_bytes(serialization.Encoding.DER)
    for device, role in [(leader_device, classroom.LEADER), *((device, classroom.MEMBER) for device in members)]:
        identity = _identity(session, authority, record, device, role)
        built = classroom.profile(
            item, role=role, organisation=organisation, namespace=namespace, identity=identity, anchor_der=anchor,
            serial_number=device.serial_number or device.udid or str(device.id),
            user_identifier=teacher_id if role == classroom.LEADER else None,
        )
        problems = validate_profile(built, device.platform)
        if problems:  # a bug, not input: refuse rather than send a profile the iPad would reject
            raise InvalidInput("the Classroom profile does not fit Apple's schema",
                               details={problem.path: [problem.reason] for problem in problems})
        body = sign_profile(session, _plist(built))
        commands.enqueue(session, principal, [device.id], "InstallProfile", {"Payload": body})
    identifier = f"{namespace}classroom.{item.device_group}"
    audit.record(session, principal, "classroom.install", school_id=found.school_id, target=("group", found.group_id),
                 details={"class": item.name, "leader_device_id": leader_device.id, "teacher": teacher_id,
                          "members": len(members), "identifier": identifier})
    return Installed(leader_device.id, [device.id for device in members], identifier)


def _teacher(item: classroom.ClassroomClass, wanted: str | None) -> str:
    identifiers = [person.identifier for person in item.teachers]
    if wanted:
        wanted = wanted.strip().lower()
        if wanted not in identifiers:
            raise InvalidInput(f"{wanted!r} is not a teacher of {item.name}", details={"teacher": ["Not a teacher of the class."]})
        return wanted
    if len(identifiers) == 1:
        return identifiers[0]
    if not identifiers:
        raise InvalidInput(f"class {item.name} has no teacher in its roster")
    raise InvalidInput(f"class {item.name} has {len(identifiers)} teachers: say whose iPad leads it",
                       details={"teacher": ["Name the teacher (Feide id)."]})


def _identity(session: Session, authority: Any, record: Any, device: Device, role: str) -> classroom.Identity:
    """A fresh key and a certificate from Flokk's CA (``leader``/``member`` common name), as PKCS #12."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=CERTIFICATE_KEY_BITS)
    name = f"{role} {device.serial_number or device.udid or device.id}"
    certificate = authority.issue(key.public_key(), x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name[:64])]))
    certificates.record_issued(session, certificate, authority=record, school_id=device.school_id, device_id=device.id)
    password = secrets.token_urlsafe(18)
    # The legacy PKCS #12 encryption (3DES, SHA-1 MAC): what every iPadOS version reads.
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)  # the password is 144 random bits: iterations add nothing
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())
        .build(password.encode())
    )
    bundle = pkcs12.serialize_key_and_certificates(name.encode(), key, certificate, [authority.certificate], encryption)
    return classroom.Identity(bundle, password)


def _plist(value: dict[str, Any]) -> bytes:
    import plistlib

    return plistlib.dumps(value, sort_keys=True)
