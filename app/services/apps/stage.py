"""The apps stage of the policy reconciler: licences to request or release, app commands to queue.

The policy reconciler resolves each device's effective policy once; this
stage reads its ``app:`` settings (``profiles.apps.desired_apps``), loads
what is known about the devices' apps (licence rows, the last
ManagedApplicationList, app commands in flight) and plans each device with
the pure ``profiles.apps.plan_apps``. Unless it is a preview it then records
licence intents for the licence worker, cancels stale commands and queues
InstallApplication (``iTunesStoreID``, ``ManagementFlags``, ``Options``
``PurchaseMethod`` 1 for a device licence), RemoveApplication and
Settings/ApplicationConfiguration; each queued command is recorded in
``app_deliveries`` so the next pass counts it as in flight. How installs and
removals went is asked a little later (ManagedApplicationList, by the
scheduler's ``apps.refresh_install_state``), once the device had time.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from app.models.apps import AppAsset, AppDelivery, AppLicence, AppsToken, DeviceApp, DeviceAppReport, LicenceState
from app.models.base import utcnow
from app.models.commands import Command, CommandStatus
from app.models.devices import Device
from app.services.access import Principal
from app.services.bulk import id_in, insert_rows, text_in
from app.services.mdm import commands
from app.services.policy.situations import DeviceSituation, PolicyCache
from mdm_protocol import commands as mdm_commands
from profiles.apps import (
    AppAction,
    AppPlan,
    CatalogueApp,
    DesiredApp,
    DeviceApps,
    Licence,
    PendingApp,
    ReportedApp,
    desired_apps,
    plan_apps,
)
from profiles.apps import LicenceState as PlanLicenceState

_CHUNK = 5000
_IN_FLIGHT = (CommandStatus.QUEUED, CommandStatus.SENT, CommandStatus.NOT_NOW)
#: ManagementFlags 1: "remove the app upon removal of the MDM profile" (Apple's InstallApplication schema).
REMOVE_WITH_MDM = 1
#: Options.PurchaseMethod 1: the app is installed with an Apps and Books licence assigned to the device.
PURCHASE_METHOD_LICENCE = 1


@dataclass(frozen=True)
class Catalogue:
    """An organisation's Apps and Books apps, as the planner and the licence rows need them."""

    token: AppsToken | None
    apps: dict[str, CatalogueApp] = field(default_factory=dict)
    pricing: dict[str, str] = field(default_factory=dict)

    @property
    def missing_reason(self) -> str:
        if self.token is None:
            return "Flokk has no Apps and Books content token yet (central IT: flokk apps token import)"
        if self.token.foreign_mdm:
            return f"the Apps and Books location is managed by another MDM ({self.token.foreign_mdm})"
        return "not among the organisation's Apps and Books apps (run flokk apps sync)"


def catalogue_for(session: Session, organisation_id: int) -> Catalogue:
    token = session.scalar(select(AppsToken).where(AppsToken.organisation_id == organisation_id))
    if token is None:
        return Catalogue(None)
    apps: dict[str, CatalogueApp] = {}
    pricing: dict[str, str] = {}
    # An app bought under several pricing parameters: the standard one (STDQ) first.
    rows = session.execute(
        select(AppAsset.adam_id, AppAsset.pricing_param, AppAsset.bundle_id, AppAsset.device_assignable)
        .where(AppAsset.token_id == token.id)
        .order_by(AppAsset.adam_id, (AppAsset.pricing_param != "STDQ"), AppAsset.pricing_param)
    )
    for adam_id, pricing_param, bundle_id, assignable in rows:
        if adam_id not in apps:
            apps[adam_id] = CatalogueApp(adam_id, bundle_id, assignable)
            pricing[adam_id] = pricing_param
    return Catalogue(token, apps, pricing)


@dataclass
class _State:
    serial: str | None = None
    licences: dict[str, Licence] = field(default_factory=dict)
    licence_rows: dict[str, tuple[int, str, int | None]] = field(default_factory=dict)  # adam -> (id, state, device)
    reported: dict[str, ReportedApp] | None = None
    unmanaged: set[str] = field(default_factory=set)
    pending: list[PendingApp] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    configured: dict[str, str | None] = field(default_factory=dict)
    prunable: list[str] = field(default_factory=list)
    managed_reported_at: dt.datetime | None = None

    @property
    def empty(self) -> bool:
        return not (self.licences or self.reported or self.unmanaged or self.pending or self.failed or self.configured)

    def apps(self) -> DeviceApps:
        return DeviceApps(self.licences, self.reported, frozenset(self.unmanaged), tuple(self.pending), self.failed,
                          self.configured)


def reconcile(
    session: Session,
    principal: Principal,
    caches: dict[int, PolicyCache],
    devices: Sequence[DeviceSituation],
    report: Any,
    *,
    dry_run: bool,
) -> None:
    """Plan (and unless ``dry_run``, carry out) the apps of enrolled Apple devices; counts go into ``report``."""
    desired_of: dict[tuple, dict[str, DesiredApp]] = {}
    wanting: list[DeviceSituation] = []
    for device in devices:
        cache = caches[device.organisation_id]
        key = (device.organisation_id, cache.key(device))
        if key not in desired_of:
            desired_of[key] = desired_apps(cache.policy(device)[0])
        wanting.append(device)
    if not any(desired_of.values()) and not _any_app_state(session):
        return
    states = load_states(session, [device.id for device in wanting])
    catalogues = {organisation_id: catalogue_for(session, organisation_id) for organisation_id in caches}
    work = AppWork()
    for device in wanting:
        state = states[device.id]
        desired = desired_of[(device.organisation_id, caches[device.organisation_id].key(device))]
        if not desired and state.empty:
            continue
        catalogue = catalogues[device.organisation_id]
        plan = plan_apps(desired, catalogue.apps, state.apps(), not_in_catalogue=catalogue.missing_reason)
        if plan.request_licences and not state.serial:
            plan = _without_licences(plan, "the device has not reported its serial number yet")
        _count(report, device, plan)
        work.add(device, state, catalogue, plan)
    if dry_run:
        return
    work.carry_out(session, principal, report)
    _prune(session, [uuid for state in states.values() for uuid in state.prunable])


def reconcile_devices(session: Session, principal: Principal, device_ids: Sequence[int]) -> Any:
    """Only the apps of these devices (their licences changed; their profiles did not): the stage alone,
    without the profile planning of a full reconciliation."""
    from app.models.devices import EnrollmentState
    from app.services.policy.reconciler import ReconcileReport
    from app.services.policy.situations import cache_for, situations, situations_query

    report = ReconcileReport(dry_run=False)
    found: list[DeviceSituation] = []
    for start in range(0, len(device_ids), _CHUNK):
        statement = situations_query().where(id_in(session, Device.id, list(device_ids[start:start + _CHUNK])),
                                             Device.enrollment_state == EnrollmentState.ENROLLED,
                                             Device.platform.in_(("ios", "ipados", "macos")))
        found.extend(situations(session, statement))
    report.devices = len(found)
    caches = {organisation_id: cache_for(session, organisation_id) for organisation_id in {item.organisation_id for item in found}}
    if found:
        reconcile(session, principal, caches, found, report, dry_run=False)
    return report


def _any_app_state(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(AppLicence.id.is_not(None)))) or
                session.scalar(select(exists().where(AppDelivery.id.is_not(None)))) or
                session.scalar(select(exists().where(DeviceApp.id.is_not(None)))))


def _without_licences(plan: AppPlan, reason: str) -> AppPlan:
    states = dict(plan.states)
    for store_id in plan.request_licences:
        states[store_id] = f"blocked: {reason}"
    blocked = plan.blocked + tuple((store_id, reason) for store_id in plan.request_licences)
    return AppPlan((), plan.release_licences, plan.install, plan.remove, plan.configure, plan.cancel, states, blocked)


def _count(report: Any, device: DeviceSituation, plan: AppPlan) -> None:
    school = device.school_id
    for store_id in plan.request_licences:
        report.licences[(school, f"app:{store_id}")] += 1
    for app in plan.install:
        report.installs[(school, f"app:{app.store_id}")] += 1
    for app in plan.configure:
        report.installs[(school, f"app:{app.store_id} configuration")] += 1
    for store_id, _ in plan.remove:
        report.removes[(school, f"app:{store_id}")] += 1
    for store_id, reason in plan.blocked:
        report.blocked[(school, f"app:{store_id}", reason)] += 1


# --- what is known about the devices' apps ----------------------------------------------------


def load_states(session: Session, device_ids: Sequence[int]) -> dict[int, _State]:
    """Licences, reports and app commands of the devices, in chunks of ids."""
    states = {device_id: _State() for device_id in device_ids}
    for start in range(0, len(device_ids), _CHUNK):
        chunk = list(device_ids[start:start + _CHUNK])
        serials: dict[str, int] = {}
        for device_id, serial in session.execute(select(Device.id, Device.serial_number).where(id_in(session, Device.id, chunk))):
            states[device_id].serial = serial
            if serial:
                serials[serial] = device_id
        _load_licences(session, states, serials)
        for device_id, at in session.execute(
            select(DeviceAppReport.device_id, DeviceAppReport.managed_reported_at)
            .where(id_in(session, DeviceAppReport.device_id, chunk))
        ):
            states[device_id].managed_reported_at = at
            if at is not None:
                states[device_id].reported = {}
        for device_id, bundle_id, managed, status, has_configuration in session.execute(
            select(DeviceApp.device_id, DeviceApp.bundle_id, DeviceApp.managed, DeviceApp.status, DeviceApp.has_configuration)
            .where(id_in(session, DeviceApp.device_id, chunk))
        ):
            state = states[device_id]
            if managed:
                if state.reported is None:
                    state.reported = {}
                state.reported[bundle_id] = ReportedApp(status or "Unknown", bool(has_configuration))
            else:
                state.unmanaged.add(bundle_id)
        deliveries = session.execute(
            select(AppDelivery.device_id, AppDelivery.action, AppDelivery.adam_id, AppDelivery.version, Command.uuid,
                   Command.status, Command.completed_at, Command.error_chain)
            .join(Command, Command.uuid == AppDelivery.command_uuid)
            .where(id_in(session, AppDelivery.device_id, chunk))
            .order_by(Command.id)
        )
        for device_id, action, adam_id, version, command_uuid, status, completed_at, error_chain in deliveries:
            _classify(states[device_id], AppAction(action), adam_id, version, command_uuid, status, completed_at, error_chain)
    return states


def _load_licences(session: Session, states: dict[int, _State], serials: dict[str, int]) -> None:
    """Licences by serial number (Apple assigns to serials; a row found at a sync may not know the device yet)."""
    names = sorted(serials)
    for start in range(0, len(names), _CHUNK):
        for row_id, adam_id, serial, state, reason, device_id in session.execute(
            select(AppLicence.id, AppLicence.adam_id, AppLicence.serial_number, AppLicence.state, AppLicence.reason,
                   AppLicence.device_id)
            .where(text_in(session, AppLicence.serial_number, names[start:start + _CHUNK]))
        ):
            owner = states[serials[serial]]
            known = owner.licences.get(adam_id)
            if known is not None and known.state is PlanLicenceState.ASSOCIATED:
                continue  # bought under two pricing parameters: the assigned one counts
            owner.licences[adam_id] = Licence(PlanLicenceState(state), reason)
            owner.licence_rows[adam_id] = (row_id, state, device_id)


def _classify(state: _State, action: AppAction, adam_id: str | None, version: str | None, command_uuid: str,
              status: str, completed_at: dt.datetime | None, error_chain: Any) -> None:
    """In flight; done since the last report (counts as in flight); refused; or history."""
    reported_at = state.managed_reported_at
    since_report = reported_at is None or (completed_at is not None and completed_at > reported_at)
    if status in _IN_FLIGHT:
        state.pending.append(PendingApp(action, adam_id, command_uuid, version, status == CommandStatus.QUEUED))
        return
    if status == CommandStatus.ACKNOWLEDGED and adam_id:
        if action in (AppAction.INSTALL, AppAction.CONFIGURE):
            state.configured[adam_id] = version
        elif action is AppAction.REMOVE:
            state.configured.pop(adam_id, None)
        if since_report and action is not AppAction.QUERY:
            state.pending.append(PendingApp(action, adam_id, command_uuid, version, False))
            return
    if status == CommandStatus.ERROR and since_report and action is AppAction.INSTALL and adam_id:
        state.failed[adam_id] = "the device refused the installation: " + _error_text(error_chain)
        return
    if not (status == CommandStatus.ACKNOWLEDGED and action in (AppAction.INSTALL, AppAction.CONFIGURE)):
        state.prunable.append(command_uuid)


def _error_text(error_chain: Any) -> str:
    for item in error_chain or ():
        if isinstance(item, dict):
            text = item.get("USEnglishDescription") or item.get("LocalizedDescription")
            if text:
                code = item.get("ErrorCode")
                return f"{text}" + (f" ({item.get('ErrorDomain')} {code})" if code is not None else "")
    return "no reason given"


# --- carrying a plan out -----------------------------------------------------------------------


@dataclass
class AppWork:
    """What the plans of many devices add up to, carried out in bulk (one command per app for all its devices)."""

    new_licences: list[dict[str, Any]] = field(default_factory=list)
    adopt: list[tuple[int, int, int]] = field(default_factory=list)  # (licence id, device id, school id)
    drop: list[int] = field(default_factory=list)
    release: list[int] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)
    installs: dict[tuple, list[DeviceSituation]] = field(default_factory=lambda: defaultdict(list))
    removes: dict[tuple, list[DeviceSituation]] = field(default_factory=lambda: defaultdict(list))
    configures: dict[tuple, list[DeviceSituation]] = field(default_factory=lambda: defaultdict(list))
    bodies: dict[tuple, DesiredApp] = field(default_factory=dict)
    queries: list[DeviceSituation] = field(default_factory=list)

    def add(self, device: DeviceSituation, state: _State, catalogue: Catalogue, plan: AppPlan) -> None:
        now = utcnow()
        for store_id in plan.request_licences:
            assert catalogue.token is not None and state.serial
            self.new_licences.append({
                "token_id": catalogue.token.id, "adam_id": store_id, "pricing_param": catalogue.pricing[store_id],
                "serial_number": state.serial, "device_id": device.id, "school_id": device.school_id,
                "state": LicenceState.WANTED, "updated_at": now,
            })
        for store_id, (row_id, _, owner) in state.licence_rows.items():
            if owner != device.id:
                self.adopt.append((row_id, device.id, device.school_id))
        for store_id in plan.release_licences:
            row_id, row_state, _ = state.licence_rows[store_id]
            if row_state == LicenceState.WANTED:
                self.drop.append(row_id)
            elif row_state == LicenceState.ASSOCIATED:
                self.release.append(row_id)
        self.cancel.extend(plan.cancel)
        for app in plan.install:
            key = (app.store_id, app.config_version, app.remove_on_unenroll)
            self.installs[key].append(device)
            self.bodies[key] = app
        for store_id, bundle_id in plan.remove:
            self.removes[(store_id, bundle_id)].append(device)
        for app in plan.configure:
            key = (app.store_id, app.config_version, catalogue.apps[app.store_id].bundle_id)
            self.configures[key].append(device)
            self.bodies[key] = app

    def carry_out(self, session: Session, principal: Principal, report: Any) -> None:
        now = utcnow()
        insert_rows(session, AppLicence.__table__, self.new_licences)
        for row_id, device_id, school_id in self.adopt:
            session.execute(update(AppLicence).where(AppLicence.id == row_id).values(device_id=device_id, school_id=school_id))
        for start in range(0, len(self.drop), _CHUNK):
            session.execute(delete(AppLicence).where(id_in(session, AppLicence.id, self.drop[start:start + _CHUNK])))
        for start in range(0, len(self.release), _CHUNK):
            session.execute(
                update(AppLicence).where(id_in(session, AppLicence.id, self.release[start:start + _CHUNK]),
                                         AppLicence.state == LicenceState.ASSOCIATED)
                .values(state=LicenceState.RELEASING, event_id=None, reason=None, updated_at=now)
                .execution_options(synchronize_session=False))
        report.cancelled += commands.cancel_queued(session, self.cancel)
        for key, targets in sorted(self.installs.items(), key=lambda item: str(item[0])):
            app = self.bodies[key]
            command = mdm_commands.install_application(
                itunes_store_id=int(app.store_id),
                management_flags=REMOVE_WITH_MDM if app.remove_on_unenroll else None,
                configuration=app.configuration,
                purchase_method=PURCHASE_METHOD_LICENCE,
            )
            self._queue(session, principal, report, targets, command, AppAction.INSTALL, app.store_id, app.config_version)
        for (store_id, bundle_id), targets in sorted(self.removes.items()):
            command = mdm_commands.remove_application(bundle_id)
            self._queue(session, principal, report, targets, command, AppAction.REMOVE, store_id, None)
        for key, targets in sorted(self.configures.items(), key=lambda item: str(item[0])):
            app = self.bodies[key]
            item: dict[str, Any] = {"Item": "ApplicationConfiguration", "Identifier": key[2]}
            if app.configuration is not None:
                item["Configuration"] = dict(app.configuration)
            self._queue(session, principal, report, targets, mdm_commands.settings([item]), AppAction.CONFIGURE,
                        app.store_id, app.config_version)
        if self.queries:
            self._queue(session, principal, report, self.queries, mdm_commands.managed_application_list(),
                        AppAction.QUERY, None, None)

    def _queue(self, session: Session, principal: Principal, report: Any, targets: list[DeviceSituation],
               command: mdm_commands.Command, action: AppAction, adam_id: str | None, version: str | None) -> None:
        queued = commands.enqueue(session, principal, [device.id for device in targets], command.request_type,
                                  command.params, check=False)
        now = utcnow()
        rows = [{"command_uuid": queued.command_uuids[device.id], "device_id": device.id, "school_id": device.school_id,
                 "action": str(action), "adam_id": adam_id, "version": version, "created_at": now} for device in targets]
        insert_rows(session, AppDelivery.__table__, rows)
        report.queued += len(queued)


@dataclass
class Tally:
    """Counts of what ``AppWork.carry_out`` did, for callers without a reconcile report."""

    queued: int = 0
    cancelled: int = 0


def _prune(session: Session, command_uuids: Iterable[str]) -> None:
    """Finished app commands the last report has superseded (acknowledged installs and configurations stay:
    they say which configuration the device holds)."""
    uuids = list(command_uuids)
    for start in range(0, len(uuids), _CHUNK):
        session.execute(delete(AppDelivery).where(text_in(session, AppDelivery.command_uuid, uuids[start:start + _CHUNK])))

