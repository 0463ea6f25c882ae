"""`flokk policy ...`: central IT's (and scripts') way to read and change policy.

Layers are named ``baseline``, ``school:CODE``, ``group:CODE/NAME`` or
``device:SERIAL``; payloads by alias (``passcode``, ``wifi:eduroam``) or
Apple PayloadType; keys as in Apple's schema. Values are read by the key's
type: true/false, numbers, JSON for arrays and dictionaries, ``@FILE`` to read
a file (a PEM certificate, a PNG icon).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cli import CliState, pass_state, print_table
from app.errors import InvalidInput
from app.models.tenancy import School
from app.schemas.policy import value_from_json
from app.services import policy
from app.services.policy.reconciler import ReconcileReport
from profiles import WHOLE_PAYLOAD, Action, Change, SettingRef
from profiles.payloads import UnknownPayload, all_kinds, kind, parse_ref
from profiles.secrets import mask
from profiles.values import BadText, parse_text, show, to_json

_LAYER_HELP = "baseline, school:CODE, group:CODE/NAME or device:SERIAL"


@click.group("policy")
def policy_group() -> None:
    """Policy: the baseline, school, group and device layers, and what devices get."""


def _ref(payload: str, key: str) -> SettingRef:
    try:
        return SettingRef(parse_ref(payload), key)
    except UnknownPayload as error:
        raise InvalidInput(str(error)) from None


def _value(ref: SettingRef, text: str) -> Any:
    spec = kind(ref.payload.payload_type).key_spec(ref.key)
    if spec is None:
        raise InvalidInput(f"{ref.key}: is not a key Apple's schema knows in {ref.payload.payload_type}")
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise InvalidInput(f"{ref.key}: cannot read {path}: {error.strerror}") from None
        if spec.type == "data":
            return raw
        text = raw.decode("utf-8", errors="replace")
    if spec.type == "data":
        return text  # base64 or PEM; the payload module turns it into bytes
    try:
        return parse_text(spec, text)
    except BadText as error:
        raise InvalidInput(f"{ref.key}: {error}") from None


def _school_codes(session: Session, school_ids: Sequence[int]) -> dict[int, str]:
    if not school_ids:
        return {}
    return dict(session.execute(select(School.id, School.code).where(School.id.in_(list(school_ids)))).all())


def _print_report(session: Session, report: ReconcileReport) -> None:
    verb = "would queue" if report.dry_run else "queued"
    codes = _school_codes(session, report.school_ids())
    total = report.install_count + report.remove_count
    click.echo(
        f"{report.devices} device(s): {report.up_to_date} up to date; {verb} {report.install_count} install(s)"
        f" and {report.remove_count} removal(s)" + (f"; cancelled {report.cancelled} stale command(s)" if report.cancelled else "")
    )
    if total:
        rows = [
            {"school": codes.get(school, school), "profile": identifier, "action": action, "devices": count}
            for action, counter in (("install", report.installs), ("remove", report.removes))
            for (school, identifier), count in sorted(counter.items(), key=lambda item: (codes.get(item[0][0], ""), item[0][1]))
        ]
        print_table(rows, ["school", "profile", "action", "devices"], as_json=False)
    for (school, app), count in sorted(report.licences.items()):
        click.echo(f"Licences to assign in {codes.get(school, school)}: {app} for {count} device(s)")
    for (school, identifier, reason), count in sorted(report.blocked.items()):
        click.echo(f"Blocked in {codes.get(school, school)}: {identifier} on {count} device(s): {reason}")
    for (school, note), count in sorted(report.left_out.items()):
        click.echo(f"Left out in {codes.get(school, school)} on {count} device(s): {note}")
    for school, count in sorted(report.unmanaged.items()):
        click.echo(f"{count} device(s) in {codes.get(school, school)} hold profiles outside the policy (left alone)")
    for reason, count in sorted(report.skipped.items()):
        click.echo(f"Skipped {count} device(s): {reason}")


def _apply(state: CliState, layer: str, changes: list[Change], *, organisation: str | None, note: str | None, dry_run: bool) -> None:
    with state.unit_of_work() as session:
        result = policy.change(session, state.principal, layer, changes, organisation=organisation, note=note, dry_run=dry_run)
        print_change(session, result, dry_run)


def print_change(session: Session, result: policy.ChangeResult, dry_run: bool) -> None:
    """What a change saved (or, as a preview, would save) and what it queues."""
    if dry_run:
        click.echo(f"Preview of {result.layer} (nothing saved):")
    elif result.version is None:
        click.echo(f"{result.layer} already says so; nothing changed.")
        return
    else:
        click.echo(f"Saved {result.layer} version {result.version.number}:")
    for line in result.changes:
        click.echo(f"  {line}")
    _print_report(session, result.report)


def _layer_options(function):
    function = click.option("--organisation", help="Organisation, when there are several (baseline only).")(function)
    return function


@policy_group.command("set")
@click.argument("layer", metavar="LAYER")
@click.argument("payload")
@click.argument("key")
@click.argument("value")
@click.option("--lock/--no-lock", default=None, help="Lock it so more specific layers cannot change it (default: keep).")
@click.option("--note", help="Why, kept with the version.")
@click.option("--dry-run", is_flag=True, help="Only show what would happen.")
@_layer_options
@pass_state
def set_(state: CliState, layer: str, payload: str, key: str, value: str, lock: bool | None, note: str | None,
         dry_run: bool, organisation: str | None) -> None:
    """Set KEY of PAYLOAD to VALUE in LAYER (baseline, school:CODE, group:CODE/NAME, device:SERIAL)."""
    ref = _ref(payload, key)
    _apply(state, layer, [Change(ref, Action.SET, _value(ref, value), lock)], organisation=organisation, note=note, dry_run=dry_run)


@policy_group.command("preview")
@click.argument("layer", metavar="LAYER")
@click.argument("payload")
@click.argument("key")
@click.argument("value")
@click.option("--lock/--no-lock", default=None, help="Preview locking it as well.")
@_layer_options
@pass_state
def preview(state: CliState, layer: str, payload: str, key: str, value: str, lock: bool | None, organisation: str | None) -> None:
    """What setting KEY to VALUE would do: devices per school and profile to install or remove."""
    ref = _ref(payload, key)
    _apply(state, layer, [Change(ref, Action.SET, _value(ref, value), lock)], organisation=organisation, note=None, dry_run=True)


@policy_group.command("apply")
@click.argument("layer", metavar="LAYER")
@click.argument("document", type=click.File("r", encoding="utf-8"))
@click.option("--lock", is_flag=True, help="Lock every key set.")
@click.option("--note", help="Why, kept with the version.")
@click.option("--dry-run", is_flag=True, help="Only show what would happen.")
@_layer_options
@pass_state
def apply(state: CliState, layer: str, document, lock: bool, note: str | None, dry_run: bool, organisation: str | None) -> None:
    """Set several keys at once from a JSON DOCUMENT ('-' for stdin): {"PAYLOAD": {"KEY": VALUE, ...}, ...}.

    One version, one reconciliation: a Wi-Fi network's SSID, encryption and
    password arrive on devices together.
    """
    try:
        wanted = json.load(document)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"the document is not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(wanted, dict) or not wanted or not all(isinstance(keys, dict) and keys for keys in wanted.values()):
        raise InvalidInput('the document must look like {"PAYLOAD": {"KEY": VALUE, ...}, ...}')
    changes = [
        Change(_ref(payload, key), Action.SET, _document_value(payload, key, value), True if lock else None)
        for payload, keys in wanted.items()
        for key, value in keys.items()
    ]
    _apply(state, layer, changes, organisation=organisation, note=note, dry_run=dry_run)


def _document_value(payload: str, key: str, value: Any) -> Any:
    """A value of the document, read as the REST API reads it (bad base64, dates or markers refused)."""
    try:
        return value_from_json(value)
    except ValidationError as error:
        raise InvalidInput(f"{payload}.{key}: {' '.join(map(str, error.messages))}") from None


def _simple(action: Action, help_text: str, *, lockable: bool = False):
    @click.argument("layer", metavar="LAYER")
    @click.argument("payload")
    @click.argument("key", required=False, default=WHOLE_PAYLOAD)
    @click.option("--note", help="Why, kept with the version.")
    @click.option("--dry-run", is_flag=True, help="Only show what would happen.")
    @_layer_options
    @pass_state
    def command(state: CliState, layer: str, payload: str, key: str, note: str | None, dry_run: bool,
                organisation: str | None, lock: bool | None = None) -> None:
        _apply(state, layer, [Change(_ref(payload, key), action, None, lock)], organisation=organisation, note=note, dry_run=dry_run)

    command.__doc__ = help_text
    if lockable:
        command = click.option("--lock/--no-lock", default=None, help="Lock the removal too.")(command)
    return command


policy_group.command("remove")(
    _simple(Action.REMOVE, "Remove KEY (or the whole PAYLOAD) that a more general layer set.", lockable=True)
)
policy_group.command("unset")(_simple(Action.UNSET, "Forget LAYER's own KEY (or whole-PAYLOAD entry): inherit again."))
policy_group.command("lock")(_simple(Action.LOCK, "Lock KEY (or the whole PAYLOAD) in LAYER for every more specific layer."))
policy_group.command("unlock")(_simple(Action.UNLOCK, "Unlock KEY (or the whole PAYLOAD) in LAYER."))


def _entry_rows(layer_view: policy.LayerView) -> list[dict[str, Any]]:
    rows = []
    for ref, entry in sorted(layer_view.layer.entries.items()):
        rows.append(
            {
                "payload": _payload_name(ref),
                "key": "(whole payload)" if ref.whole_payload else ref.key,
                "value": _short(show(mask(ref, entry.value))),
                "lock": f"locked by {entry.locked_by}" if entry.locked else "",
                "set_by": entry.set_by,
            }
        )
    return rows


def _payload_name(ref: SettingRef) -> str:
    try:
        alias = kind(ref.payload.payload_type).alias
    except UnknownPayload:
        alias = ref.payload.payload_type
    return f"{alias}:{ref.payload.instance}" if ref.payload.instance else alias


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@policy_group.command("show")
@click.option("--school", help="School code: show its layer too.")
@click.option("--group", help="Group name in that school: show its layer too.")
@click.option("--effective", "device", metavar="DEVICE", help="A device's effective policy (serial, UDID or #id).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_layer_options
@pass_state
def show_(state: CliState, school: str | None, group: str | None, device: str | None, as_json: bool, organisation: str | None) -> None:
    """Show the layers (baseline, --school, --group) or a device's effective policy with provenance."""
    with state.unit_of_work() as session:
        if device:
            _show_effective(session, policy.effective(session, state.principal, device), as_json)
            return
        views = policy.show_layers(session, state.principal, school=school, group=group, organisation=organisation)
        if as_json:
            click.echo(json.dumps([{"layer": view.label, "version": view.version, "entries": _entry_rows(view)} for view in views], indent=2))
            return
        for view in views:
            click.echo(f"{view.label} (version {view.version}" + (f", last changed by {view.updated_by})" if view.updated_by else ")"))
            print_table(_entry_rows(view), ["payload", "key", "value", "lock", "set_by"], as_json=False)
            click.echo("")


def _show_effective(session: Session, view: policy.EffectiveView, as_json: bool) -> None:
    name = lambda layer_id: view.labels.get(layer_id, str(layer_id))  # noqa: E731
    rows = []
    for payload in view.policy.payloads:
        for key, item in sorted(payload.values.items()):
            ref = SettingRef(payload.ref, key)
            prov = item.provenance
            rows.append(
                {
                    "payload": _payload_name(ref),
                    "key": key,
                    "value": show(mask(ref, item.value)) if not as_json else to_json(mask(ref, item.value)),
                    "from": name(prov.layer),
                    "set_by": prov.set_by,
                    "lock": f"locked in {name(prov.locked_in)} by {prov.locked_by}" if prov.locked else "",
                    "overrides": ", ".join(f"{name(layer)}={show(mask(ref, value))}" for layer, value in prov.overrides),
                }
            )
    left_out = [{"payload": str(note.payload), "key": note.key, "reason": note.reason,
                 "layer": name(note.layer) if note.layer else None} for note in view.policy.left_out]
    profiles = _profile_rows(view)
    if as_json:
        click.echo(json.dumps({"device": view.device.id, "values": rows, "left_out": left_out, "artifacts": profiles}, indent=2, default=str))
        return
    facts = view.policy.facts
    device = view.device
    click.echo(
        f"Device {device.serial_number or device.udid or device.id} ({facts.platform}"
        f"{', supervised' if facts.supervised else ''}{', Shared iPad' if facts.shared_ipad else ''})"
        f" in {', '.join(name(layer) for layer in view.policy.layers)}"
    )
    print_table([{**row, "value": _short(str(row["value"]), 40)} for row in rows],
                ["payload", "key", "value", "from", "set_by", "lock", "overrides"], as_json=False)
    if left_out:
        click.echo("Left out:")
        for row in left_out:
            what = f"{row['payload']} {row['key']}" if row["key"] else row["payload"]
            click.echo(f"  {what}: {row['reason']}")
    click.echo("Profiles:" if view.plan is not None else "Chrome policies:")
    print_table(profiles, ["identifier", "version", "state"], as_json=False)


def _profile_rows(view: policy.EffectiveView) -> list[dict[str, str]]:
    status = view.status
    rows = []
    for artifact in view.compiled.artifacts:
        state = status.state_of(artifact.identifier, artifact.version) if status else "applied per organisational unit"
        rows.append({"identifier": artifact.identifier, "version": artifact.version[:36], "state": state})
    if status is not None:
        for identifier in status.plan.remove:
            rows.append({"identifier": identifier, "version": "", "state": "to remove"})
        for item in status.plan.unmanaged:
            rows.append({"identifier": item.identifier, "version": item.version, "state": "outside the policy (left alone)"})
    return rows


@policy_group.command("history")
@click.argument("layer", metavar="LAYER")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_layer_options
@pass_state
def history(state: CliState, layer: str, as_json: bool, organisation: str | None) -> None:
    """Every saved version of LAYER: who, when, what changed."""
    with state.unit_of_work() as session:
        label, versions = policy.history(session, state.principal, layer, organisation=organisation)
        rows = [
            {"version": item.number, "when": item.created_at.isoformat(timespec="seconds"), "who": item.created_by,
             "note": item.note or "", "changes": item.changes}
            for item in versions
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"{label} has never been changed.")
    for row in rows:
        click.echo(f"{label} version {row['version']}  {row['when']}  {row['who']}" + (f"  ({row['note']})" if row["note"] else ""))
        for line in row["changes"]:
            click.echo(f"  {line}")


@policy_group.command("restore")
@click.argument("layer", metavar="LAYER")
@click.argument("version", type=click.IntRange(min=0))
@_layer_options
@pass_state
def restore(state: CliState, layer: str, version: int, organisation: str | None) -> None:
    """Make VERSION of LAYER current again (saved as a new version; 0 empties the layer)."""
    with state.unit_of_work() as session:
        result = policy.restore(session, state.principal, layer, version, organisation=organisation)
        if result.version is None:
            click.echo(f"{result.layer} already matches version {version}; nothing changed.")
            return
        click.echo(f"Restored {result.layer} version {version} as version {result.version.number}:")
        for line in result.changes:
            click.echo(f"  {line}")
        _print_report(session, result.report)


@policy_group.command("reconcile")
@click.option("--school", help="Only this school's devices.")
@click.option("--dry-run", is_flag=True, help="Only show what would be queued.")
@_layer_options
@pass_state
def reconcile(state: CliState, school: str | None, dry_run: bool, organisation: str | None) -> None:
    """Queue whatever devices need to match the policy (nothing when they already do)."""
    with state.unit_of_work() as session:
        report = policy.reconcile(session, state.principal, school=school, organisation=organisation, dry_run=dry_run)
        _print_report(session, report)


@policy_group.command("chrome")
@click.option("--school", required=True, help="School code.")
@click.option("--group", help="Group name in that school.")
@pass_state
def chrome(state: CliState, school: str, group: str | None) -> None:
    """The Chrome policy values for a school's (or group's) organisational unit, as JSON."""
    with state.unit_of_work() as session:
        compiled = policy.chrome_policies(session, state.principal, school, group)
    click.echo(json.dumps({
        "policies": [{"schema": item.schema, "target_keys": dict(item.target_keys), "value": item.value,
                      "update_mask": item.update_mask} for item in compiled.artifacts],
        "left_out": [str(note) for note in compiled.left_out],
    }, indent=2))


@policy_group.command("payloads")
@click.argument("payload", required=False)
def payloads(payload: str | None) -> None:
    """The supported payload types, or the keys of one PAYLOAD with their types."""
    if payload is None:
        rows = [{"alias": item.alias, "payload_type": item.payload_type, "instances": "many" if item.repeatable else "one",
                 "title": item.title} for item in all_kinds()]
        print_table(rows, ["alias", "payload_type", "instances", "title"], as_json=False)
        return
    try:
        found = kind(payload.partition(":")[0])
    except UnknownPayload as error:
        raise InvalidInput(str(error)) from None
    rows = []
    for spec in found.spec.keys:
        allowed = ", ".join(str(item) for item in spec.allowed) if spec.allowed else ""
        bounds = f"{spec.minimum}..{spec.maximum}" if spec.minimum is not None or spec.maximum is not None else ""
        info = spec.os_info("ipados")  # profiles say "supervised"; declarations list their allowed enrollments
        only_supervised = info.get("supervised") or "device" not in info.get("allowed-enrollments", ["device"])
        supervised = "supervised" if only_supervised else ""
        rows.append({"key": spec.name, "type": spec.type, "allowed": _short(allowed or bounds, 40), "ipad": supervised,
                     "title": _short(spec.title, 40)})
    print_table(rows, ["key", "type", "allowed", "ipad", "title"], as_json=False)


COMMANDS = (policy_group,)
