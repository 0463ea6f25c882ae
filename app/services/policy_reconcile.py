"""Bulk reconciliation: queue exactly the InstallProfile/RemoveProfile commands devices need.

For every device in scope: its desired profiles (``PolicyCache``), what it
last reported in ProfileList (``installed_profiles``), and the policy
commands in flight (``policy_deliveries`` joined with their command's status)
go through the pure ``profiles.reconcile``. Then, unless it is a dry run,
stale queued commands are cancelled and the needed ones queued through the
command service, one bulk insert per distinct profile.

Called when a policy changes (every affected device), when a device enrols,
moves school or group, and after each ProfileList (``reconcile_device``).
A dry run (``dry_run=True``) is the change preview: the same plan, counted
per school and profile, nothing written.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.commands import Command, CommandStatus
from app.models.devices import Device, EnrollmentState, InstalledProfile, Platform
from app.models.policy import DeliveryAction, PolicyDelivery
from app.services import audit, commands
from app.services.access import Permission, Principal, restrict
from app.services.policy_effective import DeviceSituation, PolicyCache, cache_for, situations, situations_query
from app.services.policy_signing import sign_profile
from profiles import Layer
from profiles.compile.apple import AppleProfile
from profiles.reconcile import Pending, PendingAction, Plan, Reported, reconcile

_CHUNK = 5000
_APPLE = frozenset({Platform.IOS, Platform.IPADOS, Platform.MACOS})
_IN_FLIGHT = (CommandStatus.QUEUED, CommandStatus.SENT, CommandStatus.NOT_NOW)


@dataclass(frozen=True)
class Scope:
    """Which devices to reconcile: an organisation, a school, a group or given devices."""

    organisation_id: int | None = None
    school_id: int | None = None
    group_id: int | None = None
    device_ids: tuple[int, ...] | None = None

    def condition(self) -> list[ColumnElement[bool]]:
        from app.models.tenancy import School

        conditions: list[ColumnElement[bool]] = []
        if self.organisation_id is not None:
            conditions.append(School.organisation_id == self.organisation_id)
        if self.school_id is not None:
            conditions.append(Device.school_id == self.school_id)
        if self.group_id is not None:
            conditions.append(Device.group_id == self.group_id)
        return conditions


@dataclass
class ReconcileReport:
    """What a reconciliation did (or, for a dry run, would do), counted per school and profile."""

    dry_run: bool
    devices: int = 0
    up_to_date: int = 0
    installs: Counter[tuple[int, str]] = field(default_factory=Counter)
    removes: Counter[tuple[int, str]] = field(default_factory=Counter)
    cancelled: int = 0
    blocked: Counter[tuple[int, str, str]] = field(default_factory=Counter)
    unmanaged: Counter[int] = field(default_factory=Counter)
    left_out: Counter[tuple[int, str]] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    compilations: int = 0
    queued: int = 0

    @property
    def install_count(self) -> int:
        return sum(self.installs.values())

    @property
    def remove_count(self) -> int:
        return sum(self.removes.values())

    def school_ids(self) -> list[int]:
        found = {school for school, _ in self.installs} | {school for school, _ in self.removes}
        found |= {school for school, _, _ in self.blocked} | {school for school, _ in self.left_out}
        return sorted(found | set(self.unmanaged))


@dataclass
class _DeviceState:
    reported: list[Reported] = field(default_factory=list)
    last_report: dt.datetime | None = None
    pending: list[Pending] = field(default_factory=list)
    failed: set[tuple[str, str]] = field(default_factory=set)
    prunable: list[str] = field(default_factory=list)


def reconcile_scope(
    session: Session,
    principal: Principal,
    scope: Scope,
    *,
    replaced: Iterable[Layer] = (),
    dry_run: bool = False,
) -> ReconcileReport:
    """Reconcile every device in ``scope`` the principal may see; ``replaced`` layers stand in for stored ones."""
    statement = situations_query().where(*scope.condition())
    statement = restrict(statement, principal, Permission.VIEW, Device.school_id)
    if scope.device_ids is not None:
        found: list[DeviceSituation] = []
        for start in range(0, len(scope.device_ids), _CHUNK):
            chunk = scope.device_ids[start : start + _CHUNK]
            found.extend(situations(session, statement.where(Device.id.in_(chunk))))
    else:
        found = situations(session, statement)
    return _reconcile(session, principal, found, list(replaced), dry_run)


def reconcile_device(session: Session, principal: Principal, device_id: int) -> ReconcileReport:
    """After enrolment, a move to another school or group, or a ProfileList: bring one device in line."""
    return reconcile_scope(session, principal, Scope(device_ids=(device_id,)))


def _reconcile(
    session: Session, principal: Principal, devices: list[DeviceSituation], replaced: list[Layer], dry_run: bool
) -> ReconcileReport:
    report = ReconcileReport(dry_run=dry_run)
    apple: list[DeviceSituation] = []
    for device in devices:
        if device.platform not in _APPLE:
            report.skipped["Chromebooks get policy per organisational unit through Google"] += 1
        elif device.enrollment_state != EnrollmentState.ENROLLED:
            report.skipped["not enrolled"] += 1
        else:
            apple.append(device)
    report.devices = len(apple)
    if not apple:
        return report
    states = _device_states(session, [device.id for device in apple])
    by_organisation: dict[int, list[DeviceSituation]] = defaultdict(list)
    for device in apple:
        by_organisation[device.organisation_id].append(device)

    installs: dict[tuple[str, str], list[DeviceSituation]] = defaultdict(list)
    bodies: dict[tuple[str, str], AppleProfile] = {}
    removes: dict[str, list[DeviceSituation]] = defaultdict(list)
    cancel: list[str] = []
    for organisation_id, members in sorted(by_organisation.items()):
        cache = cache_for(session, organisation_id, replaced)
        for device in members:
            plan = _plan(cache, device, states[device.id])
            _count(report, cache, device, plan)
            cancel.extend(plan.cancel)
            for profile in plan.install:
                assert isinstance(profile, AppleProfile)
                installs[(profile.identifier, profile.uuid)].append(device)
                bodies[(profile.identifier, profile.uuid)] = profile
            for identifier in plan.remove:
                removes[identifier].append(device)
        report.compilations += cache.compilations
    if dry_run:
        return report
    report.cancelled = _cancel(session, cancel)
    for key, targets in sorted(installs.items()):
        profile = bodies[key]
        queued = commands.enqueue(
            session, principal, [device.id for device in targets], "InstallProfile", {"Payload": sign_profile(session, profile.body)}
        )
        _record(session, queued, targets, DeliveryAction.INSTALL, profile.identifier, profile.uuid)
        report.queued += len(queued)
    for identifier, targets in sorted(removes.items()):
        queued = commands.enqueue(session, principal, [device.id for device in targets], "RemoveProfile", {"Identifier": identifier})
        _record(session, queued, targets, DeliveryAction.REMOVE, identifier, None)
        report.queued += len(queued)
    _prune(session, [uuid for state in states.values() for uuid in state.prunable])
    _audit(session, principal, report)
    return report


def device_plan(session: Session, cache: PolicyCache, device: DeviceSituation) -> Plan:
    """One device's plan without acting on it (for showing its state)."""
    return _plan(cache, device, _device_states(session, [device.id])[device.id])


def _plan(cache: PolicyCache, device: DeviceSituation, state: _DeviceState) -> Plan:
    _, compiled = cache.policy(device)
    own = cache.options.identifier_prefix + "."
    namespace = cache.options.namespace
    # Flokk's other profiles (enrolment) share the prefix but not the policy namespace: not strangers.
    reported = [item for item in state.reported if item.identifier.startswith(namespace) or not item.identifier.startswith(own)]
    return reconcile(
        compiled.artifacts, reported, state.pending, namespace=namespace, failed=frozenset(state.failed)
    )


def _count(report: ReconcileReport, cache: PolicyCache, device: DeviceSituation, plan: Plan) -> None:
    school = device.school_id
    if plan.changes_nothing and not plan.blocked:
        report.up_to_date += 1
    for profile in plan.install:
        report.installs[(school, profile.identifier)] += 1
    for identifier in plan.remove:
        report.removes[(school, identifier)] += 1
    for blocked in plan.blocked:
        report.blocked[(school, blocked.desired.identifier, blocked.reason)] += 1
    if plan.unmanaged:
        report.unmanaged[school] += 1
    effective, _ = cache.policy(device)
    for note in effective.left_out:
        report.left_out[(school, str(note))] += 1


def _device_states(session: Session, device_ids: Sequence[int]) -> dict[int, _DeviceState]:
    states: dict[int, _DeviceState] = {device_id: _DeviceState() for device_id in device_ids}
    for start in range(0, len(device_ids), _CHUNK):
        chunk = device_ids[start : start + _CHUNK]
        rows = session.execute(
            select(
                InstalledProfile.device_id,
                InstalledProfile.identifier,
                InstalledProfile.uuid,
                InstalledProfile.is_managed,
                InstalledProfile.reported_at,
            ).where(InstalledProfile.device_id.in_(chunk))
        )
        for device_id, identifier, uuid, managed, reported_at in rows:
            state = states[device_id]
            state.reported.append(Reported(identifier, uuid or "", managed))
            if state.last_report is None or reported_at > state.last_report:
                state.last_report = reported_at
        deliveries = session.execute(
            select(
                PolicyDelivery.device_id,
                PolicyDelivery.action,
                PolicyDelivery.identifier,
                PolicyDelivery.version,
                Command.uuid,
                Command.status,
                Command.completed_at,
            )
            .join(Command, Command.uuid == PolicyDelivery.command_uuid)
            .where(PolicyDelivery.device_id.in_(chunk))
            .order_by(Command.id)
        )
        for device_id, action, identifier, version, command_uuid, status, completed_at in deliveries:
            _classify(states[device_id], action, identifier, version, command_uuid, status, completed_at)
    return states


def _classify(
    state: _DeviceState,
    action: str,
    identifier: str,
    version: str | None,
    command_uuid: str,
    status: str,
    completed_at: dt.datetime | None,
) -> None:
    """In flight, done since the last ProfileList (counts as installed), refused, or history."""
    kind = PendingAction.INSTALL if action == DeliveryAction.INSTALL else PendingAction.REMOVE
    since_report = state.last_report is None or (completed_at is not None and completed_at > state.last_report)
    if status in _IN_FLIGHT:
        state.pending.append(Pending(kind, identifier, version, command_uuid, status == CommandStatus.QUEUED))
    elif status == CommandStatus.ACKNOWLEDGED and since_report:
        state.pending.append(Pending(kind, identifier, version, command_uuid, False))
    elif status == CommandStatus.ERROR and since_report and kind is PendingAction.INSTALL and version:
        state.failed.add((identifier, version))
    else:
        state.prunable.append(command_uuid)


def _cancel(session: Session, command_uuids: list[str]) -> int:
    cancelled = 0
    now = utcnow()
    for start in range(0, len(command_uuids), _CHUNK):
        result = session.execute(
            update(Command)
            .where(Command.uuid.in_(command_uuids[start : start + _CHUNK]), Command.status == CommandStatus.QUEUED)
            .values(status=CommandStatus.CANCELLED, completed_at=now)
        )
        cancelled += result.rowcount or 0
    return cancelled


def _record(
    session: Session,
    queued: commands.Queued,
    targets: list[DeviceSituation],
    action: DeliveryAction,
    identifier: str,
    version: str | None,
) -> None:
    now = utcnow()
    rows = [
        {
            "command_uuid": queued.command_uuids[device.id],
            "device_id": device.id,
            "school_id": device.school_id,
            "action": action,
            "identifier": identifier,
            "version": version,
            "created_at": now,
        }
        for device in targets
    ]
    for start in range(0, len(rows), _CHUNK):
        session.execute(insert(PolicyDelivery), rows[start : start + _CHUNK])


def _prune(session: Session, command_uuids: list[str]) -> None:
    """Deliveries finished before the device's last ProfileList are history: the report says the rest."""
    for start in range(0, len(command_uuids), _CHUNK):
        session.execute(delete(PolicyDelivery).where(PolicyDelivery.command_uuid.in_(command_uuids[start : start + _CHUNK])))


def _audit(session: Session, principal: Principal, report: ReconcileReport) -> None:
    per_school: dict[int, dict[str, int]] = defaultdict(lambda: {"installs": 0, "removes": 0})
    for (school, _), count in report.installs.items():
        per_school[school]["installs"] += count
    for (school, _), count in report.removes.items():
        per_school[school]["removes"] += count
    for school, counts in sorted(per_school.items()):
        audit.record(session, principal, "policy.reconcile", school_id=school, details=counts)
    if report.cancelled:
        audit.record(session, principal, "policy.reconcile", details={"cancelled": report.cancelled})
