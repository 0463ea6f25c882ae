"""Apple Classroom profiles for a class: the teacher's iPad leads, the class's iPads are members.

Keys from Apple's schema for ``com.apple.education`` (Education
Configuration): the leader (instructor) payload names the teacher
(``UserIdentifier``), the class as a group the teacher controls
(``Groups``: ``BeaconID``, ``Name``, ``LeaderIdentifiers``,
``MemberIdentifiers``, ``DeviceGroupIdentifiers``), its ``Users`` and the
class's iPads as a device group (``DeviceGroups``: ``SerialNumbers``). A
member (student) payload names the same group and users and trusts leader and
member peers through certificate anchors (``LeaderPayloadCertificateAnchorUUID``,
``MemberPayloadCertificateAnchorUUID``). Each device proves itself to its
peers with its own identity (``PayloadCertificateUUID``: a PKCS #12 payload
whose certificate's common name starts with ``leader`` or ``member``); the
anchor is the CA that issued them, as a root certificate payload.

Pure: certificates and keys come in as bytes; the profile is a dictionary for
``profiles.compile.apple.validate_profile`` and ``plistlib``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from profiles.compile.apple import FLOKK_UUID_NAMESPACE

EDUCATION, PKCS12, ROOT = "com.apple.education", "com.apple.security.pkcs12", "com.apple.security.root"
LEADER, MEMBER = "leader", "member"
MAX_BEACON_ID = 0xFFFF


@dataclass(frozen=True)
class Person:
    identifier: str
    name: str


@dataclass(frozen=True)
class ClassroomClass:
    """A class as Classroom sees it. ``beacon_id``: unsigned 16 bits, unique in the organisation."""

    beacon_id: int
    name: str
    device_group: str
    teachers: tuple[Person, ...]
    pupils: tuple[Person, ...]
    serial_numbers: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 0 <= self.beacon_id <= MAX_BEACON_ID:
            raise ValueError(f"a Classroom beacon id is 16 bits; {self.beacon_id} is out of range")


@dataclass(frozen=True)
class Identity:
    """A device's Classroom identity: PKCS #12 (certificate, key and chain) and its password."""

    pkcs12: bytes
    password: str


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(FLOKK_UUID_NAMESPACE, "\n".join(parts))).upper()


def organization_uuid(organisation: str) -> str:
    """The same for every device of the organisation, as Classroom requires."""
    return stable_uuid("classroom-organisation", organisation)


def _group(item: ClassroomClass, *, leader: bool) -> dict:
    group = {
        "BeaconID": item.beacon_id,
        "Name": item.name,
        "ConfigurationSource": "Flokk",
        "LeaderIdentifiers": [person.identifier for person in item.teachers],
        "MemberIdentifiers": [person.identifier for person in item.pupils],
    }
    if leader:
        group["DeviceGroupIdentifiers"] = [item.device_group]
    return group


def _users(item: ClassroomClass) -> list[dict]:
    people = {person.identifier: person for person in (*item.teachers, *item.pupils)}
    return [{"Identifier": person.identifier, "Name": person.name} for person in people.values()]


def education_payload(
    item: ClassroomClass,
    *,
    role: str,
    organisation: str,
    identifier: str,
    identity_uuid: str,
    anchor_uuid: str,
    user_identifier: str | None = None,
) -> dict:
    """The ``com.apple.education`` payload of a leader (the teacher's iPad) or a member (a class iPad)."""
    payload = {
        "PayloadType": EDUCATION,
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{identifier}.education",
        "PayloadUUID": stable_uuid(identifier, "education", role),
        "PayloadDisplayName": f"Classroom – {item.name}",
        "OrganizationUUID": organization_uuid(organisation),
        "OrganizationName": organisation,
        "PayloadCertificateUUID": identity_uuid,
        "Groups": [_group(item, leader=role == LEADER)],
        "Users": _users(item),
    }
    if user_identifier:
        payload["UserIdentifier"] = user_identifier
    if role == LEADER:
        payload["DeviceGroups"] = [{"Identifier": item.device_group, "Name": item.name,
                                    "SerialNumbers": list(item.serial_numbers)}]
    else:
        payload["LeaderPayloadCertificateAnchorUUID"] = [anchor_uuid]
        payload["MemberPayloadCertificateAnchorUUID"] = [anchor_uuid]
    return payload


def profile(
    item: ClassroomClass,
    *,
    role: str,
    organisation: str,
    namespace: str,
    identity: Identity,
    anchor_der: bytes,
    serial_number: str,
    user_identifier: str | None = None,
) -> dict:
    """A whole configuration profile for one device: the education payload, its identity and the anchor."""
    identifier = f"{namespace}classroom.{item.device_group}"
    identity_uuid = stable_uuid(identifier, PKCS12, serial_number)
    anchor_uuid = stable_uuid(identifier, ROOT)
    content: Sequence[dict] = (
        education_payload(item, role=role, organisation=organisation, identifier=identifier,
                          identity_uuid=identity_uuid, anchor_uuid=anchor_uuid, user_identifier=user_identifier),
        {
            "PayloadType": PKCS12,
            "PayloadVersion": 1,
            "PayloadIdentifier": f"{identifier}.identity",
            "PayloadUUID": identity_uuid,
            "PayloadDisplayName": f"Classroom identity ({role})",
            "PayloadCertificateFileName": f"classroom-{role}.p12",
            "PayloadContent": identity.pkcs12,
            "Password": identity.password,
        },
        {
            "PayloadType": ROOT,
            "PayloadVersion": 1,
            "PayloadIdentifier": f"{identifier}.anchor",
            "PayloadUUID": anchor_uuid,
            "PayloadDisplayName": "Classroom certificate authority",
            "PayloadContent": anchor_der,
        },
    )
    return {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": stable_uuid(identifier, role, serial_number, identity_uuid),
        "PayloadDisplayName": f"Classroom – {item.name}",
        "PayloadDescription": ("Lets this iPad lead the class in Apple's Classroom app." if role == LEADER
                               else "Lets the class's teacher guide this iPad in Apple's Classroom app."),
        "PayloadOrganization": organisation,
        "PayloadContent": list(content),
    }
