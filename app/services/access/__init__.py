"""The tenancy choke point: what a principal may see and do, applied to every query.

Rights are data: a principal holds grants of (role, school or all schools); a
role is a set of permissions. A grant may also be scoped to one group of a
school (a teacher's class): it then covers that group and its devices (and
their commands) only, never the school's other rows. Every read of
school-owned rows goes through ``restrict``/``scoped``; every single-object
action through ``get_for`` or ``require``, inside the same transaction as the
write. Objects outside the principal's scope are reported as not found, so
their existence does not leak.

The package also holds who the principals are: ``accounts`` (admins and
grants), ``passwords``, ``sign_in`` (sessions, single sign-on), ``sso_rules``,
``api_tokens``, and ``approvals`` (what needs a second central admin).
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.orm import Session

from app.errors import Forbidden, NotFound

T = TypeVar("T")


class Role(StrEnum):
    CENTRAL_ADMIN = "central_admin"
    CENTRAL_HELPDESK = "central_helpdesk"
    SCHOOL_ICT = "school_ict"
    AUDITOR = "auditor"
    #: A class's teacher: always scoped to one group (from the class roster); see ROLE_COMMANDS.
    TEACHER = "teacher"


#: Roles whose grants always name a group (a class) and never a whole school.
GROUP_ROLES = frozenset({Role.TEACHER})


class Permission(StrEnum):
    VIEW = "view"  # read a school's devices, groups, tokens, policy, commands
    MANAGE = "manage"  # change them: groups, device assignment, enrollment tokens, school policy
    COMMAND = "command"  # queue non-destructive MDM commands
    REQUEST_DESTRUCTIVE = "request_destructive"  # ask for an erase etc.; queued after approval
    DESTRUCTIVE = "destructive"  # queue destructive commands (still through approval)
    APPROVE = "approve"  # approve another admin's destructive request
    AUDIT = "audit"  # read the audit log
    ADMINISTER = "administer"  # schools, admins, grants, baseline policy, certificates


ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.CENTRAL_ADMIN: frozenset(Permission),
    Role.CENTRAL_HELPDESK: frozenset({Permission.VIEW, Permission.COMMAND}),
    Role.SCHOOL_ICT: frozenset(
        {Permission.VIEW, Permission.MANAGE, Permission.COMMAND, Permission.REQUEST_DESTRUCTIVE}
    ),
    Role.AUDITOR: frozenset({Permission.VIEW, Permission.AUDIT}),
    # Read the class's devices and their commands; lock a screen; ask for a passcode to be
    # cleared (a destructive command: it waits for a central admin's approval). No settings.
    Role.TEACHER: frozenset({Permission.VIEW, Permission.COMMAND, Permission.REQUEST_DESTRUCTIVE}),
}

#: MDM commands that read the iPad, or act on it without a lasting change (a lost or
#: misbehaving iPad needs them at once): what every role with the command right may send.
EVERYDAY_COMMANDS: frozenset[str] = frozenset(
    {
        # queries
        "DeviceInformation", "SecurityInfo", "ProfileList", "InstalledApplicationList", "CertificateList",
        "OSUpdateStatus", "UserList", "DeviceLocation",
        # actions that leave nothing behind once the iPad is back in hand
        "DeviceLock", "RestartDevice", "ShutDownDevice", "EnableLostMode", "DisableLostMode", "PlayLostModeSound",
        "LogOutUser",
    }
)
#: Commands that wipe data or lock a pupil out: an admin only ever asks for them, and a
#: second central admin's approval queues them (``approvals``). Removing Flokk's own MDM
#: profile is the same (``command_rights``), as is any command outside Flokk's catalogue.
WIPING_COMMANDS: frozenset[str] = frozenset({"EraseDevice", "ClearPasscode", "DeleteUser", "ClearRestrictionsPassword"})

#: The MDM commands (RequestType, or ``RemoveDevice``: "remove from Flokk") each role may
#: send or ask for; None: every command Apple's schema knows. A command not named here
#: reaches only central admins. Profiles, apps, settings and OS updates change what central
#: IT decides through the policy, so they stay central. A teacher locks a screen and asks
#: for a passcode to be cleared (approved by central IT), nothing else.
ROLE_COMMANDS: Mapping[Role, frozenset[str] | None] = {
    Role.CENTRAL_ADMIN: None,
    Role.CENTRAL_HELPDESK: EVERYDAY_COMMANDS,
    Role.SCHOOL_ICT: EVERYDAY_COMMANDS | {"EraseDevice", "ClearPasscode", "DeleteUser", "RemoveDevice"},
    Role.AUDITOR: frozenset(),
    Role.TEACHER: frozenset({"DeviceLock", "ClearPasscode"}),
}


def role_may_send(role: Role, request_type: str) -> bool:
    allowed = ROLE_COMMANDS[role]
    return allowed is None or request_type in allowed


def roles_that_send(request_type: str) -> list[str]:
    """The roles that may send (or, for wiping commands, ask for) ``request_type``."""
    return [role.value for role in Role if Permission.COMMAND in ROLE_PERMISSIONS[role] and role_may_send(role, request_type)]


@dataclass(frozen=True)
class Grant:
    role: Role
    school_id: int | None  # None: every school
    group_id: int | None = None  # set: only this group (a class) of the school

    def allows(self, permission: Permission, command: str | None = None) -> bool:
        """Whether the role holds ``permission`` (and, for a command, may send it)."""
        if permission not in ROLE_PERMISSIONS[self.role]:
            return False
        return command is None or role_may_send(self.role, command)

    def covers(self, school_id: int | None, group_id: int | None) -> bool:
        """Whether the grant reaches an object of ``school_id`` in ``group_id`` (None: not in a group)."""
        if self.group_id is not None:
            return group_id is not None and group_id == self.group_id and school_id == self.school_id
        return self.school_id is None or (school_id is not None and school_id == self.school_id)


@dataclass(frozen=True)
class Principal:
    """Who acts: an admin user, an API token, the CLI operator or the system itself."""

    kind: str
    id: int | None
    label: str
    grants: tuple[Grant, ...]

    def school_ids(self, permission: Permission, *, command: str | None = None) -> frozenset[int] | None:
        """The schools where this principal holds ``permission`` school-wide; None means every school.

        ``command``: only through grants whose role may send this MDM command (``ROLE_COMMANDS``).
        Grants scoped to a group are not counted: see ``group_ids``.
        """
        schools: set[int] = set()
        for grant in self.grants:
            if grant.group_id is None and grant.allows(permission, command):
                if grant.school_id is None:
                    return None
                schools.add(grant.school_id)
        return frozenset(schools)

    def group_ids(self, permission: Permission) -> frozenset[int]:
        """The groups (classes) where this principal holds ``permission`` through a group-scoped grant."""
        return frozenset(grant.group_id for grant in self.grants if grant.group_id is not None and grant.allows(permission))

    def can(
        self, permission: Permission, school_id: int | None = None, group_id: int | None = None, *, command: str | None = None
    ) -> bool:
        """The right over an object of ``school_id`` that is in ``group_id`` (None: in no group).

        ``school_id`` None asks for the right over every school (central rights);
        ``command`` also asks whether a grant's role may send that command.
        """
        return any(grant.allows(permission, command) and grant.covers(school_id, group_id) for grant in self.grants)

    def can_anywhere(self, permission: Permission) -> bool:
        return any(grant.allows(permission) for grant in self.grants)

    @property
    def is_central(self) -> bool:
        return self.school_ids(Permission.VIEW) is None


def system_principal(label: str = "system") -> Principal:
    """Flokk acting on its own (scheduler jobs, protocol handling)."""
    return Principal("system", None, f"system:{label}", (Grant(Role.CENTRAL_ADMIN, None),))


def cli_principal() -> Principal:
    """The operator at the server's shell: central IT by definition."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Principal("cli", None, f"cli:{user}", (Grant(Role.CENTRAL_ADMIN, None),))


def principal_for_admin(admin: Any) -> Principal:
    """The principal of a signed-in admin user, from their RoleGrant rows (read fresh per request)."""
    return Principal("admin", admin.id, admin.label, grants_from(admin.grants))


def principal_for_token(token: Any) -> Principal:
    """The principal of an API token, from its RoleGrant rows."""
    return Principal("token", token.id, token.label, grants_from(token.grants))


def same_principal(principal: Principal, kind: str, principal_id: int | None, label: str) -> bool:
    """Whether ``principal`` is the one recorded as (kind, id, label); CLI and system principals have no id."""
    if principal_id is None or principal.id is None:
        return principal.label == label
    return principal.kind == kind and principal.id == principal_id


def require_anywhere(principal: Principal, permission: Permission) -> None:
    """The coarse check every endpoint makes before touching data: the right in at least one school.

    It reveals nothing about any object; ``get_for``/``require`` then check the object's school.
    """
    if not principal.can_anywhere(permission):
        raise Forbidden(f"you do not have the right to {_verb(permission)}")


def school_column(model: Any) -> ColumnElement[Any]:
    """The column that says which school a row belongs to."""
    from app.models.tenancy import School

    return School.id if model is School else model.school_id


def group_filter(model: Any) -> Callable[[list[int]], ColumnElement[bool]] | None:
    """How to keep the rows of some groups; None for rows a group-scoped grant never reaches.

    A group is in itself; a device in its group; a command in its device's group
    (a semi-join through the devices' group index, not a lookup per command).
    """
    from app.models.commands import Command
    from app.models.devices import Device
    from app.models.tenancy import Group

    if model is Group:
        return lambda ids: Group.id.in_(ids)
    if model is Device:
        return lambda ids: Device.group_id.in_(ids)
    if model is Command:
        return lambda ids: Command.device_id.in_(select(Device.id).where(Device.group_id.in_(ids)))
    return None


def restrict(
    statement: Select[Any],
    principal: Principal,
    permission: Permission,
    column: Any,
    in_groups: Callable[[list[int]], ColumnElement[bool]] | None = None,
) -> Select[Any]:
    """Limit a query to the rows of the schools where ``principal`` holds ``permission``,
    and (with ``in_groups``, see ``group_filter``) of the groups a group-scoped grant names."""
    schools = principal.school_ids(permission)
    if schools is None:
        return statement
    groups = principal.group_ids(permission) if in_groups is not None else frozenset()
    conditions = []
    if schools:
        conditions.append(column.in_(sorted(schools)))
    if groups and in_groups is not None:
        conditions.append(in_groups(sorted(groups)))
    if not conditions:
        return statement.where(false())
    return statement.where(or_(*conditions))


def scoped(model: type[T], principal: Principal, permission: Permission = Permission.VIEW) -> Select[tuple[T]]:
    """``select(model)`` restricted to what the principal may see (or act on)."""
    return restrict(select(model), principal, permission, school_column(model), group_filter(model))


def get_for(
    session: Session,
    model: type[T],
    object_id: Any,
    principal: Principal,
    permission: Permission = Permission.VIEW,
    *,
    column: Any = None,
    lock: bool = False,
) -> T:
    """Load one school-owned object for an action, or raise NotFound/Forbidden.

    Outside the principal's visible scope: NotFound (existence does not leak).
    Visible but without the right for this action: Forbidden.
    ``lock`` takes a row lock so the re-check holds until the transaction ends.
    """
    key = column if column is not None else model.id  # type: ignore[attr-defined]
    statement = scoped(model, principal, Permission.VIEW).where(key == object_id)
    if lock:
        statement = statement.with_for_update()
    found = session.scalar(statement)
    name = getattr(model, "__name__", "object").lower()
    if found is None:
        raise NotFound(f"no {name} {object_id}")
    if permission is not Permission.VIEW:
        require(principal, permission, _school_of(found), group_of(found))
    return found


def require(principal: Principal, permission: Permission, school_id: int | None, group_id: int | None = None) -> None:
    """Raise unless ``principal`` holds ``permission`` for ``school_id`` (None: every school),
    for an object in ``group_id`` (None: one that is in no group, or the school itself)."""
    if principal.can(permission, school_id, group_id):
        return
    if school_id is not None and not principal.can(Permission.VIEW, school_id, group_id):
        raise NotFound("not found")
    raise Forbidden(f"you do not have the right to {_verb(permission)}")


def group_of(found: Any) -> int | None:
    """The group an object belongs to, for the grants scoped to a group (see ``group_filter``)."""
    from app.models.commands import Command
    from app.models.devices import Device
    from app.models.tenancy import Group

    if isinstance(found, Group):
        return found.id
    if isinstance(found, Device):
        return found.group_id
    if isinstance(found, Command):
        return found.device.group_id if found.device is not None else None
    return None


def require_central(principal: Principal, permission: Permission = Permission.ADMINISTER) -> None:
    """Actions that span schools (schools, admins, baseline policy, certificates)."""
    if not principal.can(permission, None):
        raise Forbidden(f"only central IT may {_verb(permission)}")


def visible_school_ids(session: Session, principal: Principal, permission: Permission = Permission.VIEW) -> list[int]:
    from app.models.tenancy import School

    return list(session.scalars(restrict(select(School.id), principal, permission, School.id)))


def _school_of(found: Any) -> int:
    return found.school_id


def _verb(permission: Permission) -> str:
    return {
        Permission.VIEW: "see this",
        Permission.MANAGE: "change this",
        Permission.COMMAND: "send commands here",
        Permission.REQUEST_DESTRUCTIVE: "request destructive actions here",
        Permission.DESTRUCTIVE: "run destructive actions",
        Permission.APPROVE: "approve requests",
        Permission.AUDIT: "read the audit log",
        Permission.ADMINISTER: "administer Flokk",
    }[permission]


def grants_from(rows: Iterable[Any]) -> tuple[Grant, ...]:
    """Grants from RoleGrant rows."""
    return tuple(Grant(Role(row.role), row.school_id, row.group_id) for row in rows)
