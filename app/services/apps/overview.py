"""What the CLI, the API and the dashboard show about apps: the catalogue, a layer's apps, a device's apps.

Everything goes through the access choke point: a school's ICT contact sees
licence counts of their own schools only, a layer through the policy
service's rights, a device through ``get_for``. Per-device states come from
the same planner the reconciler uses, so the pages say exactly what Flokk
will do next, and why an app waits or is blocked.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models.apps import AppAsset, AppLicence, LicenceState
from app.models.devices import Device, EnrollmentState
from app.models.tenancy import School
from app.services import policy
from app.services.access import Permission, Principal, get_for, restrict
from app.services.apps import connection, stage
from app.services.policy import layers as policy_layers
from app.services.policy.situations import cache_for, situations, situations_query
from profiles import EffectiveValue, PayloadRef
from profiles.apps import desired_apps, plan_apps
from profiles.payloads.app import PAYLOAD_TYPE, STATES


@dataclass
class AppInfo:
    """One app of the catalogue with its licence counts (per school: only schools the principal sees)."""

    adam_id: str
    name: str
    bundle_id: str | None
    icon_url: str | None
    version: str | None
    device_assignable: bool
    total: int = 0
    assigned: int = 0
    available: int = 0
    #: school id -> licences assigned to its devices / waiting for one.
    assigned_in: dict[int, int] = field(default_factory=dict)
    waiting_in: dict[int, int] = field(default_factory=dict)
    #: What the baseline says (central IT's catalogue): state and whether it is locked.
    baseline_state: str | None = None
    baseline_locked: bool = False


@dataclass
class Catalogue:
    token: connection.TokenSummary | None
    apps: list[AppInfo]
    schools: dict[int, str]


def catalogue(session: Session, principal: Principal, *, school: str | None = None) -> Catalogue:
    """Every Apps and Books app with its licence counts; central IT also gets the token's state."""
    if not principal.can_anywhere(Permission.VIEW):
        raise InvalidInput("you do not see any school")
    school_ids: list[int] | None = None
    if school is not None:
        target = policy_layers.parse_target(session, principal, f"school:{school}")
        school_ids = [target.school.id]  # type: ignore[union-attr]
    token = connection.current(session)
    summary = connection.summarise(token) if token is not None and principal.is_central else None
    apps: dict[str, AppInfo] = {}
    if token is not None:
        for row in session.scalars(select(AppAsset).where(AppAsset.token_id == token.id).order_by(AppAsset.name, AppAsset.adam_id)):
            info = apps.get(row.adam_id)
            if info is None:
                info = apps[row.adam_id] = AppInfo(row.adam_id, row.name, row.bundle_id, row.icon_url, row.version,
                                                   row.device_assignable)
            info.total += row.total_count
            info.assigned += row.assigned_count
            info.available += row.available_count
        counts = select(AppLicence.school_id, AppLicence.adam_id, AppLicence.state, func.count()).where(
            AppLicence.token_id == token.id, AppLicence.school_id.is_not(None))
        if school_ids is not None:
            counts = counts.where(AppLicence.school_id.in_(school_ids))
        counts = restrict(counts, principal, Permission.VIEW, AppLicence.school_id)
        for school_id, adam_id, state, count in session.execute(
            counts.group_by(AppLicence.school_id, AppLicence.adam_id, AppLicence.state)
        ):
            info = apps.get(adam_id)
            if info is None:
                continue
            target = info.assigned_in if state in (LicenceState.ASSOCIATED, LicenceState.RELEASING) else info.waiting_in
            target[school_id] = target.get(school_id, 0) + count
    for ref, value in _baseline_apps(session, principal).items():
        if ref.instance in apps and value is not None:
            apps[ref.instance].baseline_state = value.value
            apps[ref.instance].baseline_locked = value.provenance.locked
    visible = restrict(select(School.id, School.code), principal, Permission.VIEW, School.id)
    codes = dict(session.execute(visible).all())
    return Catalogue(summary, list(apps.values()), codes)


def _baseline_apps(session: Session, principal: Principal) -> dict[PayloadRef, EffectiveValue | None]:
    try:
        stack = policy.show_layer(session, principal, "baseline")
    except InvalidInput:
        return {}
    return {ref.payload: value for ref, value in stack.settings.items()
            if ref.payload.payload_type == PAYLOAD_TYPE and ref.key == "State"}


# --- a layer's apps (the school and class app pages) --------------------------------------------


@dataclass
class LayerApp:
    """One app a layer's stack names: its state here, where it comes from, its lock."""

    info: AppInfo | None
    adam_id: str
    state: str
    set_in: str
    own: bool
    locked: bool
    locked_by: str | None
    configuration: Any = None
    remove_on_unenroll: bool = True
    #: Flokk's words for what the devices are doing with it -> how many devices.
    states: Counter = field(default_factory=Counter)


@dataclass
class DeviceCell:
    state: str
    reported: str | None


@dataclass
class LayerApps:
    label: str
    apps: list[LayerApp]
    #: Apps the layer may add (central IT's catalogue, for a school or a class).
    choices: list[AppInfo]
    #: For a group: each device with its state per app (the class page's table).
    devices: list[tuple[Device, dict[str, DeviceCell]]] = field(default_factory=list)
    states: tuple[str, ...] = STATES


def layer_apps(session: Session, principal: Principal, layer: str, *, per_device: bool = False) -> LayerApps:
    """The apps a school's or a group's stack says, with what its devices are doing about them."""
    stack = policy.show_layer(session, principal, layer)
    target = policy_layers.parse_target(session, principal, layer)
    known = {info.adam_id: info for info in catalogue(session, principal).apps}
    values: dict[str, dict[str, EffectiveValue]] = defaultdict(dict)
    for ref, value in stack.settings.items():
        if ref.payload.payload_type == PAYLOAD_TYPE:
            values[ref.payload.instance][ref.key] = value
    own_id = stack.target.layer.id
    apps: dict[str, LayerApp] = {}
    for adam_id, keys in sorted(values.items()):
        state = keys.get("State")
        if state is None:
            continue
        apps[adam_id] = LayerApp(
            info=known.get(adam_id), adam_id=adam_id, state=state.value,
            set_in=stack.label(state.provenance.layer) or "", own=state.provenance.layer == own_id,
            locked=state.provenance.locked and state.provenance.layer != own_id,
            locked_by=state.provenance.locked_by,
            configuration=keys["Configuration"].value if "Configuration" in keys else None,
            remove_on_unenroll=keys["RemoveOnUnenroll"].value if "RemoveOnUnenroll" in keys else True,
        )
    allowed = {ref.instance for ref, value in _baseline_apps(session, principal).items()
               if value is not None and value.value in ("available", "required")}
    if target.level == "baseline":
        choices = [info for info in known.values() if info.device_assignable]
    else:
        choices = [info for adam_id, info in known.items() if adam_id in allowed]
    result = LayerApps(stack.target.label, list(apps.values()), sorted(choices, key=lambda item: item.name.lower()))
    if target.level in ("school", "group"):
        _device_states(session, principal, target, result, per_device=per_device or target.level == "group")
    return result


def _device_states(session: Session, principal: Principal, target, result: LayerApps, *, per_device: bool) -> None:
    statement = situations_query().where(Device.enrollment_state == EnrollmentState.ENROLLED)
    statement = statement.where(Device.group_id == target.group.id) if target.group else statement.where(
        Device.school_id == target.school.id)
    statement = restrict(statement, principal, Permission.VIEW, Device.school_id)
    found = [item for item in situations(session, statement) if item.platform in ("ios", "ipados")]
    if not found:
        return
    cache = cache_for(session, target.organisation_id)
    states = stage.load_states(session, [item.id for item in found])
    catalogue_ = stage.catalogue_for(session, target.organisation_id)
    by_id = {app.adam_id: app for app in result.apps}
    devices = {device.id: device for device in session.scalars(select(Device).where(Device.id.in_([item.id for item in found])))}
    for item in found:
        desired = desired_apps(cache.policy(item)[0])
        state = states[item.id]
        plan = plan_apps(desired, catalogue_.apps, state.apps(), not_in_catalogue=catalogue_.missing_reason)
        cells: dict[str, DeviceCell] = {}
        for adam_id, words in plan.states.items():
            if adam_id in by_id:
                by_id[adam_id].states[words] += 1
            entry = catalogue_.apps.get(adam_id)
            reported = state.reported.get(entry.bundle_id) if state.reported and entry and entry.bundle_id else None
            cells[adam_id] = DeviceCell(words, reported.status if reported else None)
        if per_device:
            result.devices.append((devices[item.id], cells))
    result.devices.sort(key=lambda row: (row[0].name or row[0].serial_number or ""))



# --- one device's apps ---------------------------------------------------------------------------


@dataclass
class DeviceAppRow:
    adam_id: str | None
    name: str
    bundle_id: str | None
    icon_url: str | None
    desired: str | None
    set_in: str | None
    locked: bool
    licence: str | None
    reported: str | None
    doing: str


def device_apps(session: Session, principal: Principal, device_id: int) -> list[DeviceAppRow]:
    """A device's apps: what its policy says and where from, its licence, what it reported, what Flokk does next."""
    device = get_for(session, Device, device_id, principal)
    if device.platform not in ("ios", "ipados"):
        return []
    view = policy.effective(session, principal, f"#{device.id}")
    desired = desired_apps(view.policy)
    organisation_id = device.school.organisation_id
    catalogue_ = stage.catalogue_for(session, organisation_id)
    state = stage.load_states(session, [device.id])[device.id]
    plan = plan_apps(desired, catalogue_.apps, state.apps(), not_in_catalogue=catalogue_.missing_reason)
    names = {}
    if catalogue_.token is not None:
        names = {row.adam_id: row for row in session.scalars(select(AppAsset).where(AppAsset.token_id == catalogue_.token.id))}
    rows: list[DeviceAppRow] = []
    shown_bundles: set[str] = set()
    for adam_id in sorted(set(desired) | set(state.licences)):
        asset = names.get(adam_id)
        payload = view.policy.payload(PayloadRef(PAYLOAD_TYPE, adam_id))
        value = payload.values.get("State") if payload else None
        licence = state.licences.get(adam_id)
        bundle = asset.bundle_id if asset else None
        reported = state.reported.get(bundle) if state.reported is not None and bundle else None
        if bundle:
            shown_bundles.add(bundle)
        rows.append(DeviceAppRow(
            adam_id=adam_id, name=asset.name if asset else f"app:{adam_id}", bundle_id=bundle,
            icon_url=asset.icon_url if asset else None, desired=value.value if value else None,
            set_in=view.labels.get(value.provenance.layer, str(value.provenance.layer)) if value else None,
            locked=bool(value and value.provenance.locked),
            licence=(licence.state.value + (f" ({licence.reason})" if licence.reason else "")) if licence else None,
            reported=reported.status if reported else None,
            doing=plan.states.get(adam_id, "nothing to do"),
        ))
    for bundle, reported in sorted((state.reported or {}).items()):
        if bundle not in shown_bundles:
            rows.append(DeviceAppRow(None, bundle, bundle, None, None, None, False, None, reported.status,
                                     "managed, not in Flokk's policy (left alone)"))
    return rows
