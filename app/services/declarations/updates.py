"""OS updates by a deadline, as central IT runs them: a target per layer, progress per school and device.

The target is the policy payload ``osupdate`` (Apple's
``softwareupdate.enforcement.specific`` declaration): central IT sets the
version, build and deadline in the baseline (and may lock them); a school
may set a later deadline in its own layer unless the deadline is locked.
Every rule of the policy applies: rights, locks, versions, audit, and the
reconciler telling exactly the devices whose declarations changed.

Progress comes from what devices report by themselves (``softwareupdate.*``
status items and their OS version): done, downloading, prepared,
installing, failed (with Apple's reason), pending; devices that cannot get
the declaration (not managed declaratively, or too old) are counted apart.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models.declarations import DeclarativeDevice
from app.models.devices import Device, EnrollmentState, Platform
from app.models.tenancy import School
from app.services import policy
from app.services.access import Principal
from app.services.fleet import schools as school_service
from app.services.policy import layers as policy_layers
from app.services.policy.situations import DeviceSituation, PolicyCache, cache_for, situations_query
from mdm_protocol.declarative import support
from profiles import Change, EffectiveValue, Layer, LayerId, Level, SettingRef, merge, resolve
from profiles.payloads import os_update, parse_ref

ALIAS = "osupdate"
#: Option names (CLI, API, forms) → the declaration's keys.
KEYS = {"version": "TargetOSVersion", "build": "TargetBuildVersion", "deadline": "TargetLocalDateTime",
        "details_url": "DetailsURL"}
_APPLE = (Platform.IPADOS, Platform.IOS)
_PAYLOAD = parse_ref(ALIAS)


class State(enum.StrEnum):
    """Where one device stands against its target."""

    DONE = "done"
    PENDING = "pending"
    WAITING = "waiting"
    DOWNLOADING = "downloading"
    PREPARED = "prepared"
    INSTALLING = "installing"
    FAILED = "failed"
    NOT_DECLARATIVE = "not_declarative"  # gets profiles and commands: no OS update declaration
    TOO_OLD = "too_old"  # managed declaratively, but its iPadOS predates the declaration
    UNKNOWN = "unknown"  # no OS version reported yet


#: States still on their way to the target (the progress bar's "pending").
IN_PROGRESS = frozenset({State.PENDING, State.WAITING, State.DOWNLOADING, State.PREPARED, State.INSTALLING})
#: States the declaration cannot reach.
UNREACHABLE = frozenset({State.NOT_DECLARATIVE, State.TOO_OLD, State.UNKNOWN})


@dataclass(frozen=True)
class Setting:
    """One key of the target as a layer sees it: value, the layer that set it, its lock."""

    value: str
    layer: str
    set_by: str
    locked_in: str | None = None
    locked_by: str | None = None


@dataclass(frozen=True)
class Target:
    """The target as seen from one layer (the baseline, or a school): each key with its provenance."""

    settings: dict[str, Setting]

    def value(self, option: str) -> str | None:
        found = self.settings.get(KEYS[option])
        return found.value if found else None

    @property
    def complete(self) -> bool:
        return bool(self.value("version") and self.value("deadline"))

    def locked(self, option: str, *, below: str) -> Setting | None:
        """The setting when a layer other than ``below`` locked it (so ``below`` may not change it)."""
        found = self.settings.get(KEYS[option])
        return found if found and found.locked_in and found.locked_in != below else None


@dataclass(frozen=True)
class DeviceUpdate:
    device_id: int
    name: str
    serial_number: str | None
    os_version: str | None
    target_version: str
    deadline: str
    state: State
    reason: str | None = None
    pending_version: str | None = None
    reported_at: dt.datetime | None = None


@dataclass
class SchoolUpdates:
    """One school's target and how its iPads stand against it."""

    school: School
    target: Target
    counts: Counter[State] = field(default_factory=Counter)
    devices: list[DeviceUpdate] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return self.counts[State.DONE]

    @property
    def failed(self) -> int:
        return self.counts[State.FAILED]

    @property
    def pending(self) -> int:
        return sum(self.counts[state] for state in IN_PROGRESS)

    @property
    def unreachable(self) -> int:
        return sum(self.counts[state] for state in UNREACHABLE)

    @property
    def below_target(self) -> int:
        return self.total - self.done


@dataclass
class UpdateChange:
    """A target change (or its preview): the policy change and where every school would stand."""

    result: policy.ChangeResult
    schools: list[SchoolUpdates]


def layer_of(*, school: str | None = None, group: str | None = None, device: str | None = None) -> str:
    """The policy layer a target is set in: the baseline unless a school, group or device is named."""
    if device:
        return f"device:{device}"
    if group:
        if not school:
            raise InvalidInput("name the group's school too")
        return f"group:{school}/{group}"
    return f"school:{school}" if school else "baseline"


def set_target(
    session: Session,
    principal: Principal,
    layer: str,
    *,
    version: str | None = None,
    build: str | None = None,
    deadline: str | None = None,
    details_url: str | None = None,
    lock: bool | None = None,
    unset: Sequence[str] = (),
    note: str | None = None,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> UpdateChange:
    """Set (or unset) keys of a layer's target through the policy; refused with the key if it is locked."""
    given = {"version": version, "build": build, "deadline": deadline, "details_url": details_url}
    changes = [Change.set(ALIAS, KEYS[option], value, lock=lock) for option, value in given.items() if value is not None]
    for option in unset:
        if option not in KEYS:
            raise InvalidInput(f"cannot unset {option!r}: one of {', '.join(KEYS)}")
        if given.get(option) is not None:
            raise InvalidInput(f"{option}: set it or unset it, not both")
        changes.append(Change.unset(ALIAS, KEYS[option]))
    if not changes:
        raise InvalidInput("give a version, build, deadline or details URL to set (or one to unset)")
    if deadline is not None:
        _check_deadline(deadline, now or dt.datetime.now())
    result = policy.change(session, principal, layer, changes, note=note, dry_run=dry_run)
    replaced = [result.after] if dry_run and result.after is not None else []
    school = policy_layers.parse_target(session, principal, layer).school
    return UpdateChange(result, overview(session, principal, school=school.code if school else None, replaced=replaced))


def _check_deadline(text: str, now: dt.datetime) -> None:
    moment = os_update.parse_deadline(text)
    if moment is None:
        raise InvalidInput("deadline: use a local date and time such as 2026-10-16 16:00",
                           details={"deadline": ["must be a local date and time such as 2026-10-16 16:00"]})
    if moment <= now:
        raise InvalidInput(f"deadline: {moment:%Y-%m-%d %H:%M} has passed", details={"deadline": ["has passed"]})


def overview(
    session: Session,
    principal: Principal,
    *,
    school: str | None = None,
    replaced: Iterable[Layer] = (),
    with_devices: bool = False,
) -> list[SchoolUpdates]:
    """Every visible school (or one) with its target and its iPads' progress; ``replaced`` previews a change."""
    if school is not None:
        wanted = [school_service.get_school_by_code(session, principal, school)]
    else:
        wanted = school_service.list_schools(session, principal)
    replaced = list(replaced)
    by_organisation: dict[int, list[School]] = defaultdict(list)
    for found in wanted:
        by_organisation[found.organisation_id].append(found)
    views: list[SchoolUpdates] = []
    for organisation_id, members in sorted(by_organisation.items()):
        cache = cache_for(session, organisation_id, replaced)
        labels = _labels(session, cache.layers)
        by_school = {member.id: SchoolUpdates(member, _school_target(cache, labels, member)) for member in members}
        targets: dict[tuple, tuple[str, str] | None] = {}
        for device, progress in _devices(session, list(by_school)):
            target = _device_target(cache, device, targets)
            if target is None:
                continue
            update = _device_state(device, progress, target)
            view = by_school[device.school_id]
            view.counts[update.state] += 1
            if with_devices:
                view.devices.append(update)
        views.extend(by_school.values())
    return views


def device_update(session: Session, device: Device) -> DeviceUpdate | None:
    """One device against its own target (None: not an iPad, or no complete target applies to it).

    ``device`` was loaded through the access check by the caller.
    """
    found = _devices(session, [device.school_id], device_id=device.id)
    if not found:
        return None
    situation, progress = found[0]
    target = _device_target(cache_for(session, situation.organisation_id), situation, {})
    return _device_state(situation, progress, target) if target is not None else None


# --- helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Progress:
    """What a device reported about its update, and its names (one row of ``_devices``)."""

    name: str | None
    serial_number: str | None
    state: str | None
    failure_count: int | None
    failure_reason: str | None
    pending_version: str | None
    reported_at: dt.datetime | None


def _devices(session: Session, school_ids: list[int], *, device_id: int | None = None) -> list[tuple[DeviceSituation, _Progress]]:
    """The enrolled iPads of the schools (or one of them), each with its situation and update progress, in one query."""
    statement = (
        situations_query()
        .add_columns(Device.name, Device.serial_number, DeclarativeDevice.update_state, DeclarativeDevice.update_failure_count,
                     DeclarativeDevice.update_failure_reason, DeclarativeDevice.update_pending_version,
                     DeclarativeDevice.update_reported_at)
        .where(Device.school_id.in_(school_ids), Device.platform.in_(_APPLE), Device.enrollment_state == EnrollmentState.ENROLLED)
        .order_by(Device.id)
    )
    if device_id is not None:
        statement = statement.where(Device.id == device_id)
    width = len(situations_query().selected_columns)
    return [(DeviceSituation(*row[:width]), _Progress(*row[width:])) for row in session.execute(statement)]


def _school_target(cache: PolicyCache, labels: dict[LayerId, str], school: School) -> Target:
    """The target as the school's layer sees it: the baseline and the school merged, with provenance."""
    stack = [layer for layer in cache.layers if layer.id in (LayerId(Level.BASELINE), LayerId(Level.SCHOOL, str(school.id)))]
    return _target(merge(stack)[0], labels)


def _target(settings: dict[SettingRef, EffectiveValue], labels: dict[LayerId, str]) -> Target:
    found: dict[str, Setting] = {}
    for ref, item in settings.items():
        if ref.payload != _PAYLOAD:
            continue
        prov = item.provenance
        found[ref.key] = Setting(
            str(item.value), labels.get(prov.layer, str(prov.layer)), prov.set_by,
            labels.get(prov.locked_in, str(prov.locked_in)) if prov.locked_in else None, prov.locked_by,
        )
    return Target(found)


def _device_target(cache: PolicyCache, device: DeviceSituation, memo: dict) -> tuple[str, str] | None:
    """(version, deadline) the device's layers give it, whether or not it can take the declaration."""
    key = cache.key(device)[:6]
    if key not in memo:
        facts = dataclasses.replace(cache.facts(device), declarative=True, os_version="999")
        payload = resolve(cache.layers, facts).payload(_PAYLOAD)
        values = payload.plain() if payload else {}
        version, deadline = values.get(KEYS["version"]), values.get(KEYS["deadline"])
        memo[key] = (version, deadline) if version and deadline else None
    return memo[key]


def _device_state(device: DeviceSituation, progress: _Progress, target: tuple[str, str]) -> DeviceUpdate:
    version, deadline = target
    state, reason = _state(device, progress, version)
    return DeviceUpdate(
        device_id=device.id, name=progress.name or progress.serial_number or f"#{device.id}",
        serial_number=progress.serial_number, os_version=device.os_version, target_version=version, deadline=deadline,
        state=state, reason=reason, pending_version=progress.pending_version, reported_at=progress.reported_at,
    )


def _state(device: DeviceSituation, progress: _Progress, target_version: str) -> tuple[State, str | None]:
    current, wanted = support.version_tuple(device.os_version), support.version_tuple(target_version)
    if current is None:
        return State.UNKNOWN, None
    if wanted is not None and current >= wanted:
        return State.DONE, None
    if not device.declarative:
        return State.NOT_DECLARATIVE, None
    types = support.declaration_types(device.platform, device.os_version or "", supervised=device.supervised,
                                      shared_ipad=device.shared_ipad)
    if os_update.DECLARATION_TYPE not in types:
        return State.TOO_OLD, None
    if progress.state == "failed" or progress.failure_count:
        return State.FAILED, progress.failure_reason
    try:
        return State(progress.state or State.PENDING), None
    except ValueError:  # "none" (nothing pending yet), or a state Apple added after this schema
        return State.PENDING, None


def _labels(session: Session, layers: Sequence[Layer]) -> dict[LayerId, str]:
    return policy_layers.labels(session, [layer.id for layer in layers])

