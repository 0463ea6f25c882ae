"""Schools and groups ↔ Google's organisational units (OUs).

Each school maps to one OU below the parent unit (where the baseline and
its locks are applied), each group optionally to an OU below its school's.
A Chromebook belongs to the school (and group) of the nearest mapped unit
above it; Google's OU paths are case-insensitive. Flokk can create missing
units below the parent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.models.google import GoogleOrgUnit
from app.models.tenancy import Group, School
from app.services import audit
from app.services.access import Principal, get_for, require_central
from app.services.fleet.schools import get_school_by_code
from app.services.google import client_for, refused, require_connection
from mdm_protocol.google import errors

MAX_PATH = 500


def normalise_path(path: str) -> str:
    """``/Skoler/Nordby`` (leading slash, no trailing one); InvalidInput for what Google would refuse."""
    text = (path or "").strip()
    if not text.startswith("/"):
        raise InvalidInput("an organisational unit path starts with /, e.g. /Skoler/Nordby",
                           details={"ou_path": ["Must start with /."]})
    parts = text.strip("/").split("/") if text.strip("/") else []
    if any(not part.strip() or part != part.strip() for part in parts) or len(text) > MAX_PATH:
        raise InvalidInput("the organisational unit path has an empty or padded part, or is too long",
                           details={"ou_path": ["Not a unit path."]})
    if any(ord(char) < 32 or char in "\x7f\\" for char in text):
        raise InvalidInput("the organisational unit path holds control characters", details={"ou_path": ["Not a unit path."]})
    return "/" + "/".join(parts)


def is_below(path: str, parent: str) -> bool:
    """Whether ``path`` is strictly inside ``parent`` (case-insensitive, as Google compares them)."""
    path, parent = path.lower(), parent.lower().rstrip("/")
    return path != parent and path.startswith(parent + "/") if parent else path != "/"


def units(session: Session, organisation_id: int) -> list[GoogleOrgUnit]:
    return list(session.scalars(select(GoogleOrgUnit).where(GoogleOrgUnit.organisation_id == organisation_id)))


def parent_unit(session: Session, organisation_id: int) -> GoogleOrgUnit:
    found = session.scalar(select(GoogleOrgUnit).where(GoogleOrgUnit.organisation_id == organisation_id,
                                                       GoogleOrgUnit.school_id.is_(None)))
    if found is None:
        raise NotFound("the Google connection has no parent organisational unit; connect again")
    return found


def unit_of_school(session: Session, school_id: int) -> GoogleOrgUnit | None:
    return session.scalar(select(GoogleOrgUnit).where(GoogleOrgUnit.school_id == school_id, GoogleOrgUnit.group_id.is_(None)))


def unit_of_group(session: Session, group_id: int) -> GoogleOrgUnit | None:
    return session.scalar(select(GoogleOrgUnit).where(GoogleOrgUnit.group_id == group_id))


def map_unit(
    session: Session, principal: Principal, school_code: str, ou_path: str, *, group: str | None = None, create: bool = False
) -> GoogleOrgUnit:
    """Map a school (or one of its groups) to an OU, creating it below the parent when asked."""
    require_central(principal)
    school = get_school_by_code(session, principal, school_code)
    connection = require_connection(session, school.organisation_id)
    path = normalise_path(ou_path)
    parent = parent_unit(session, school.organisation_id)
    target_group = None
    if group is not None:
        target_group = session.scalar(select(Group).where(Group.school_id == school.id, Group.name == group.strip()))
        if target_group is None:
            raise NotFound(f"school {school.code} has no group {group!r}")
        above = unit_of_school(session, school.id)
        if above is None:
            raise InvalidInput(f"map school {school.code} to its unit first", details={"group": ["School not mapped."]})
    else:
        above = parent
    if not is_below(path, above.ou_path):
        what = f"school {school.code}'s unit {above.ou_path}" if target_group else f"the parent unit {parent.ou_path}"
        raise InvalidInput(f"{path} must be inside {what}, so the locks set above it hold",
                           details={"ou_path": [f"Must be inside {above.ou_path}."]})
    client = client_for(session, connection)
    try:
        found = _existing(client, path)
        if found is None and not create:
            raise InvalidInput(f"Google has no organisational unit {path}; add --create (or tick Create) to make it",
                               details={"ou_path": ["No such unit in Google."]})
        if found is None:
            found = _create(client, path, above.ou_path, f"Flokk: {school.name}" + (f", {target_group.name}" if target_group else ""))
    except errors.GoogleError as error:
        raise refused(error, f"organisational unit {path}") from None
    ou_id = str(found["orgUnitId"]).removeprefix("id:")
    row = unit_of_group(session, target_group.id) if target_group else unit_of_school(session, school.id)
    clash = session.scalar(select(GoogleOrgUnit).where(GoogleOrgUnit.organisation_id == school.organisation_id,
                                                       GoogleOrgUnit.ou_id == ou_id))
    if clash is not None and clash is not row:
        raise InvalidInput(f"{path} is already the unit of another school or group", details={"ou_path": ["Already mapped."]})
    before = row.ou_path if row else None
    if row is None:
        row = GoogleOrgUnit(organisation_id=school.organisation_id, school_id=school.id,
                            group_id=target_group.id if target_group else None, created_by=principal.label)
        session.add(row)
    row.ou_path, row.ou_id = str(found.get("orgUnitPath") or path), ou_id
    if before != row.ou_path:
        row.applied, row.networks, row.drift = {}, {}, []
    session.flush()
    audit.record(session, principal, "google.map", school_id=school.id, target=("google_org_unit", row.ou_path),
                 details={"group": target_group.name if target_group else None, "ou_path": row.ou_path, "was": before,
                          "created": create and found.get("orgUnitPath") is not None and before != row.ou_path})
    return row


def _existing(client, path: str) -> dict | None:
    try:
        return client.org_unit(path)
    except errors.NotFound:
        return None


def _create(client, path: str, stop: str, description: str) -> dict:
    """Create ``path`` and any missing units between it and ``stop`` (which exists)."""
    parts = path.strip("/").split("/")
    depth = len(stop.strip("/").split("/")) if stop.strip("/") else 0
    current = stop
    created = None
    for part in parts[depth:]:
        candidate = current.rstrip("/") + "/" + part
        created = _existing(client, candidate) or client.insert_org_unit(part, current, description)
        current = candidate
    assert created is not None
    return created


@dataclass(frozen=True)
class Place:
    school_id: int
    group_id: int | None
    #: Whether the unit is a group's own (then the group comes from Google, not from Flokk).
    group_unit: bool


class OuIndex:
    """Which school and group a Chromebook in a given OU belongs to."""

    def __init__(self, rows: Iterable[GoogleOrgUnit]) -> None:
        self._places: dict[str, Place] = {}
        self.parent_path = "/"
        self.group_units: set[int] = set()
        for row in rows:
            if row.school_id is None:
                self.parent_path = row.ou_path
                continue
            self._places[row.ou_path.lower()] = Place(row.school_id, row.group_id, row.group_id is not None)
            if row.group_id is not None:
                self.group_units.add(row.group_id)

    def place(self, ou_path: str | None) -> Place | None:
        """The nearest mapped unit at or above ``ou_path``; None outside every school's unit."""
        path = (ou_path or "").lower().rstrip("/")
        while path:
            found = self._places.get(path)
            if found is not None:
                return found
            path = path.rsplit("/", 1)[0]
        return None


def unit_for(session: Session, school: School, group_id: int | None) -> GoogleOrgUnit:
    """Where a Chromebook of this school (and group) belongs in Google."""
    if group_id is not None:
        row = unit_of_group(session, group_id)
        if row is not None:
            return row
    row = unit_of_school(session, school.id)
    if row is None:
        raise InvalidInput(f"school {school.code} has no organisational unit in Google yet: "
                           f"`flokk google map {school.code} /PATH`")
    return row


def group_in_school(session: Session, principal: Principal, school: School, group_id: int | None) -> Group | None:
    if group_id is None:
        return None
    group = get_for(session, Group, group_id, principal)
    if group.school_id != school.id:
        raise InvalidInput("the group belongs to another school", details={"group_id": ["Not a group of that school."]})
    return group
