"""Policy use cases: show layers and effective policy, change a layer, preview, history, restore.

Rights: everyone who may see a school may read the baseline and that
school's layers; only central IT changes the baseline; a school's ICT contact
changes the layers of their own school (the school, its groups, its devices).
A change is checked in full by the pure model (schema, payload rules, locks
of the layers above) and either saved as a new version and reconciled onto
every affected device, or refused with every key and reason, nothing saved,
the refusal audited.

The package: ``layers`` stores layers and their versions, ``situations``
computes devices' effective policy and profiles, ``reconciler`` queues what
devices lack, ``signing`` signs compiled profiles with Flokk's CA.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Forbidden, InvalidInput, NotFound, PreconditionFailed
from app.models.devices import Device
from app.models.policy import LayerLevel, PolicyLayer, PolicyVersion
from app.models.tenancy import School
from app.services import audit
from app.services.access import Permission, Principal, require, require_central, restrict
from app.services.apps import rules as app_rules
from app.services.policy import layers as policy_layers
from app.services.policy.situations import cache_for, situations, situations_query
from app.services.policy.layers import LayerTarget
from app.services.policy.reconciler import DeviceStatus, ReconcileReport, Scope, device_status, reconcile_scope
from profiles import (
    PLATFORMS,
    Change,
    EffectivePolicy,
    EffectiveValue,
    Layer,
    LayerId,
    Refused,
    SettingRef,
    apply_changes,
    diff,
    merge,
)
from profiles.compile import CompiledPolicy, compiler_for
from profiles.layers import changes_to
from profiles.model import DeviceFacts
from profiles.reconcile import Plan
from profiles.resolve import resolve
from profiles.secrets import mask

#: The longest note a version keeps (the column's length).
NOTE_LENGTH: int = PolicyVersion.__table__.c.note.type.length


@dataclass
class ChangeResult:
    layer: str
    version: PolicyVersion | None
    changes: list[str]
    report: ReconcileReport
    #: The layer as the change leaves it (as it would, for a preview).
    after: Layer | None = None


@dataclass
class LayerView:
    label: str
    layer: Layer
    version: int
    updated_by: str | None


@dataclass
class EffectiveView:
    device: Device
    policy: EffectivePolicy
    compiled: CompiledPolicy
    #: None for Chromebooks (their policy is applied per organisational unit).
    status: DeviceStatus | None
    labels: dict = field(default_factory=dict)

    @property
    def plan(self) -> Plan | None:
        return self.status.plan if self.status else None


def _authorize(principal: Principal, target: LayerTarget, *, write: bool) -> None:
    if target.level is LayerLevel.BASELINE:
        if write:
            require_central(principal)
        elif not principal.can_anywhere(Permission.VIEW):
            raise Forbidden("you do not have the right to see this")
        return
    require(principal, Permission.MANAGE if write else Permission.VIEW, target.school_id)


def _targets_above(target: LayerTarget) -> list[LayerTarget]:
    """The layers more general than ``target`` that apply to it, most general first."""
    if target.level is LayerLevel.BASELINE:
        return []
    wanted = [LayerTarget(LayerLevel.BASELINE, target.organisation_id)]
    if target.level is not LayerLevel.SCHOOL:
        wanted.append(LayerTarget(LayerLevel.SCHOOL, target.organisation_id, school=target.school))
    if target.level is LayerLevel.DEVICE and target.device is not None and target.device.group is not None:
        wanted.append(LayerTarget(LayerLevel.GROUP, target.organisation_id, school=target.school, group=target.device.group))
    return wanted


def _layers_above(session: Session, target: LayerTarget) -> list[Layer]:
    """The stored layers more general than ``target`` that apply to it."""
    return [policy_layers.load(session, policy_layers.find_row(session, item), item) for item in _targets_above(target)]


def _platforms(target: LayerTarget) -> tuple[str, ...]:
    """A device layer is checked against the device's platform; others against every platform."""
    return (target.device.platform,) if target.device is not None else PLATFORMS


def scope_of(target: LayerTarget) -> Scope:
    if target.level is LayerLevel.BASELINE:
        return Scope(organisation_id=target.organisation_id)
    if target.level is LayerLevel.SCHOOL:
        return Scope(school_id=target.school_id)
    if target.level is LayerLevel.GROUP:
        assert target.group is not None
        return Scope(group_id=target.group.id)
    assert target.device is not None
    return Scope(device_ids=(target.device.id,))


def change(
    session: Session,
    principal: Principal,
    layer: str,
    changes: Sequence[Change],
    *,
    organisation: str | None = None,
    note: str | None = None,
    dry_run: bool = False,
    if_version: Collection[int] | None = None,
) -> ChangeResult:
    """Apply changes to a layer (all or nothing), save a version and reconcile affected devices.

    ``dry_run`` is the change preview: the same checks and plan, nothing saved or queued.
    ``if_version``: the versions the caller has seen (HTTP ``If-Match``); another current
    version is refused with PreconditionFailed, so nobody overwrites a change unseen.
    """
    if not changes:
        raise InvalidInput("no change given")
    if note is not None and len(note) > NOTE_LENGTH:
        raise InvalidInput(f"the note is longer than {NOTE_LENGTH} characters", details={"note": [f"at most {NOTE_LENGTH} characters"]})
    target = policy_layers.parse_target(session, principal, layer, organisation=organisation)
    _authorize(principal, target, write=True)
    row = policy_layers.find_row(session, target) if dry_run else policy_layers.ensure_row(session, target)
    _check_version(target, row, if_version)
    before = policy_layers.load(session, row, target)
    after = _checked(session, principal, target, before, changes)
    if dry_run:
        report = reconcile_scope(session, principal, scope_of(target), replaced=[after], dry_run=True)
        return ChangeResult(target.label, None, [item.describe(mask) for item in diff(before, after)], report, after)
    assert row is not None
    version = policy_layers.save(session, row, before, after, actor=principal.label, note=note)
    if version is None:
        return ChangeResult(target.label, None, [], ReconcileReport(dry_run=False), after)
    audit.record(
        session,
        principal,
        "policy.change",
        school_id=target.school_id,
        target=("policy_layer", target.label),
        details={"version": version.number, "changes": version.changes},
    )
    report = reconcile_scope(session, principal, scope_of(target))
    return ChangeResult(target.label, version, list(version.changes), report, after)


def _check_version(target: LayerTarget, row: PolicyLayer | None, if_version: Collection[int] | None) -> None:
    """The row is locked (``ensure_row``) before this check, so no save can slip in after it."""
    current = row.version if row is not None else 0
    if if_version is not None and current not in if_version:
        raise PreconditionFailed(f"{target.label} is at version {current} now, not the one you read; "
                                 "read it again and redo your change")


def _checked(session: Session, principal: Principal, target: LayerTarget, before: Layer, changes: Sequence[Change]) -> Layer:
    above = _layers_above(session, target)
    try:
        after = apply_changes(before, above, changes, actor=principal.label, platforms=_platforms(target))
        app_rules.check(session, target.organisation_id, target.layer_id.level, above, changes)
        return after
    except Refused as refused:
        names = policy_layers.labels(session, [item.locked_in for item in refused.refusals if item.locked_in])
        details: dict[str, list[str]] = {}
        for refusal in refused.refusals:
            reason = refusal.reason
            if refusal.locked_in is not None:
                reason = reason.replace(f" {refusal.locked_in}", f" {names[refusal.locked_in]}")
            details.setdefault(refusal.key, []).append(reason)
        audit.record(
            session,
            principal,
            "policy.change",
            outcome=audit.DENIED,
            school_id=target.school_id,
            target=("policy_layer", target.label),
            details={"refused": {key: reasons for key, reasons in details.items()}},
            durable=True,
        )
        raise InvalidInput(f"{target.label}: change refused, nothing saved", details=details) from None


def show_layers(
    session: Session,
    principal: Principal,
    *,
    school: str | None = None,
    group: str | None = None,
    organisation: str | None = None,
) -> list[LayerView]:
    """The baseline and, if asked, a school's and a group's layers as stored."""
    if group and not school:
        raise InvalidInput("name the school of the group with --school")
    targets: list[LayerTarget] = []
    if school:
        targets.append(policy_layers.parse_target(session, principal, f"school:{school}"))
        if group:
            targets.append(policy_layers.parse_target(session, principal, f"group:{school}/{group}"))
        # The baseline of the school's own organisation.
        targets.insert(0, LayerTarget(LayerLevel.BASELINE, targets[0].organisation_id))
    else:
        targets.append(policy_layers.parse_target(session, principal, "baseline", organisation=organisation))
    views = []
    for target in targets:
        _authorize(principal, target, write=False)
        views.append(_layer_view(session, target))
    return views


@dataclass
class LayerStack:
    """One layer in context: the layers above it, and what the stack says at this layer with provenance."""

    target: LayerView
    above: list[LayerView]
    #: Every key the stack sets at this layer, with the layer that set it and any lock.
    settings: dict[SettingRef, EffectiveValue]
    labels: dict[LayerId, str]

    def label(self, layer_id: LayerId | None) -> str | None:
        return None if layer_id is None else self.labels.get(layer_id, str(layer_id))


def show_layer(session: Session, principal: Principal, layer: str, *, organisation: str | None = None) -> LayerStack:
    """A layer as stored, the layers above it, and their merge (what a school sees it inherits and may not change)."""
    target = policy_layers.parse_target(session, principal, layer, organisation=organisation)
    _authorize(principal, target, write=False)
    views = [_layer_view(session, item) for item in [*_targets_above(target), target]]
    settings, _ = merge([view.layer for view in views])
    ids = [view.layer.id for view in views] + [value.provenance.locked_in for value in settings.values() if value.provenance.locked_in]
    return LayerStack(views[-1], views[:-1], settings, policy_layers.labels(session, ids))


def _layer_view(session: Session, target: LayerTarget) -> LayerView:
    row = policy_layers.find_row(session, target)
    return LayerView(target.label, policy_layers.load(session, row, target), row.version if row else 0, row.updated_by if row else None)


def school_codes(session: Session, principal: Principal, school_ids: Iterable[int]) -> dict[int, str]:
    """School codes for a report's school ids, of the schools the principal sees."""
    wanted = sorted(set(school_ids))
    if not wanted:
        return {}
    statement = restrict(select(School.id, School.code).where(School.id.in_(wanted)), principal, Permission.VIEW, School.id)
    return dict(session.execute(statement).all())


def effective(session: Session, principal: Principal, device_reference: str) -> EffectiveView:
    """A device's effective policy with provenance, its compiled artifacts and what is still to do.

    Settings are the school's: a grant scoped to a class (a teacher's) does not reach them.
    """
    device = policy_layers.find_device(session, principal, device_reference)
    require(principal, Permission.VIEW, device.school_id)
    (situation,) = situations(session, situations_query().where(Device.id == device.id))
    cache = cache_for(session, situation.organisation_id)
    policy, compiled = cache.policy(situation)
    status = device_status(session, cache, situation) if device.platform != "chromeos" else None
    labels = policy_layers.labels(session, _layer_ids(policy))
    return EffectiveView(device, policy, compiled, status, labels)


def _layer_ids(policy: EffectivePolicy) -> list:
    found = list(policy.layers)
    for payload in policy.payloads:
        for item in payload.values.values():
            found.append(item.provenance.layer)
            if item.provenance.locked_in:
                found.append(item.provenance.locked_in)
            found.extend(layer for layer, _ in item.provenance.overrides)
    found.extend(note.layer for note in policy.left_out if note.layer)
    return found


def chrome_policies(session: Session, principal: Principal, school: str, group: str | None = None) -> CompiledPolicy:
    """The Chrome policy values for a school's (or a group's) organisational unit."""
    text = f"group:{school}/{group}" if group else f"school:{school}"
    target = policy_layers.parse_target(session, principal, text)
    _authorize(principal, target, write=False)
    cache = cache_for(session, target.organisation_id)
    facts = DeviceFacts("chromeos", school=str(target.school_id), group=str(target.group.id) if target.group else "")
    return compiler_for("chromeos", cache.options).compile(resolve(cache.layers, facts))


def history(
    session: Session, principal: Principal, layer: str, *, organisation: str | None = None, newest: int | None = None
) -> tuple[str, list[PolicyVersion]]:
    """A layer's versions, oldest first; with ``newest`` only that many of the latest (a page need not
    load years of snapshots)."""
    target = policy_layers.parse_target(session, principal, layer, organisation=organisation)
    _authorize(principal, target, write=False)
    row = policy_layers.find_row(session, target)
    if row is None:
        return target.label, []
    statement = select(PolicyVersion).where(PolicyVersion.layer_id == row.id).order_by(PolicyVersion.number.desc())
    if newest is not None:
        statement = statement.limit(newest)
    return target.label, list(session.scalars(statement))[::-1]


def restore(
    session: Session, principal: Principal, layer: str, number: int, *, organisation: str | None = None,
    if_version: Collection[int] | None = None,
) -> ChangeResult:
    """Make an old version current again, as a new version, through the usual checks and locks
    (``if_version`` as for :func:`change`)."""
    target = policy_layers.parse_target(session, principal, layer, organisation=organisation)
    _authorize(principal, target, write=True)
    row = policy_layers.find_row(session, target)
    old = None
    if row is not None:
        old = session.scalar(select(PolicyVersion).where(PolicyVersion.layer_id == row.id, PolicyVersion.number == number))
    if row is None or (old is None and number != 0):
        raise NotFound(f"{target.label} has no version {number}")
    row = policy_layers.ensure_row(session, target)
    _check_version(target, row, if_version)
    before = policy_layers.load(session, row)
    wanted = policy_layers.snapshot(session, row, old) if old is not None else Layer(before.id, {})
    changes = changes_to(before, wanted)
    if not changes:
        return ChangeResult(target.label, None, [], ReconcileReport(dry_run=False))
    after = _checked(session, principal, target, before, changes)
    version = policy_layers.save(
        session, row, before, after, actor=principal.label, note=f"restored version {number}", restored_from=number
    )
    assert version is not None
    audit.record(
        session,
        principal,
        "policy.restore",
        school_id=target.school_id,
        target=("policy_layer", target.label),
        details={"restored": number, "version": version.number, "changes": version.changes},
    )
    report = reconcile_scope(session, principal, scope_of(target))
    return ChangeResult(target.label, version, list(version.changes), report)


def reconcile(
    session: Session,
    principal: Principal,
    *,
    school: str | None = None,
    organisation: str | None = None,
    dry_run: bool = False,
) -> ReconcileReport:
    """Bring every device (of one school) in line with the stored policy; safe to run any time."""
    text = f"school:{school}" if school else "baseline"
    target = policy_layers.parse_target(session, principal, text, organisation=organisation)
    if target.level is LayerLevel.BASELINE and not principal.is_central:
        raise Forbidden("name your school with --school")
    if target.school_id is None:
        require_central(principal, Permission.COMMAND)
    else:
        require(principal, Permission.COMMAND, target.school_id)
    return reconcile_scope(session, principal, scope_of(target), dry_run=dry_run)
