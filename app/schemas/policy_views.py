"""Policy as the REST API shows it: layers in context, effective policies, versions, change reports.

Secrets are masked wherever a value is shown (``profiles.secrets.mask``);
values are JSON (``{"$data": base64}`` for bytes), payloads named by alias.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from app.services.policy import ChangeResult, EffectiveView
from app.services.policy.reconciler import ReconcileReport
from profiles import EffectiveValue, SettingRef
from profiles.payloads import UnknownPayload, kind
from profiles.secrets import mask
from profiles.values import to_json


def payload_name(ref: SettingRef) -> str:
    """The payload as admins write it: alias, with the instance (``wifi:eduroam``)."""
    try:
        alias = kind(ref.payload.payload_type).alias
    except UnknownPayload:
        alias = ref.payload.payload_type
    return f"{alias}:{ref.payload.instance}" if ref.payload.instance else alias


def shown_value(ref: SettingRef, value: Any) -> Any:
    """The value as JSON, secrets masked."""
    return to_json(mask(ref, value))


class EntryOut(Schema):
    """A stored entry of a layer: ``(ref, entry)``."""

    payload = fields.Function(lambda item: payload_name(item[0]))
    payload_type = fields.Function(lambda item: item[0].payload.payload_type)
    key = fields.Function(lambda item: item[0].key)
    value = fields.Function(lambda item: shown_value(item[0], item[1].value))
    locked = fields.Function(lambda item: item[1].locked)
    locked_by = fields.Function(lambda item: item[1].locked_by)
    set_by = fields.Function(lambda item: item[1].set_by)


class LayerOut(Schema):
    """A ``policy.LayerView``."""

    layer = fields.String(attribute="label")
    version = fields.Integer()
    updated_by = fields.String(allow_none=True)
    settings = fields.Function(lambda view: EntryOut(many=True).dump(sorted(view.layer.entries.items())))


def provenance_row(ref: SettingRef, item: EffectiveValue, label) -> dict[str, Any]:
    """One effective value with where it came from; ``label`` names a layer id."""
    prov = item.provenance
    return {
        "payload": payload_name(ref),
        "payload_type": ref.payload.payload_type,
        "key": ref.key,
        "value": shown_value(ref, item.value),
        "layer": label(prov.layer),
        "set_by": prov.set_by,
        "locked": prov.locked,
        "locked_in": label(prov.locked_in) if prov.locked_in else None,
        "locked_by": prov.locked_by,
        "overrides": [{"layer": label(layer), "value": shown_value(ref, value)} for layer, value in prov.overrides],
    }


class LayerStackOut(Schema):
    """A ``policy.LayerStack``: the layer, the layers above it, and what the stack says at this layer."""

    layer = fields.Function(lambda stack: LayerOut().dump(stack.target))
    above = fields.Function(lambda stack: LayerOut(many=True).dump(stack.above))
    effective = fields.Function(
        lambda stack: [provenance_row(ref, item, stack.label) for ref, item in stack.settings.items()]
    )


class VersionOut(Schema):
    number = fields.Integer()
    created_at = fields.DateTime()
    created_by = fields.String()
    note = fields.String(allow_none=True)
    restored_from = fields.Integer(allow_none=True)
    changes = fields.List(fields.String())


def report_out(report: ReconcileReport, codes: dict[int, str]) -> dict[str, Any]:
    """What a change did (or, as a preview, would do) to devices, counted per school and profile."""

    def school(school_id: int) -> str:
        return codes.get(school_id, str(school_id))

    def counted(counter) -> list[dict[str, Any]]:
        return [
            {"school": school(school_id), "profile": identifier, "devices": count}
            for (school_id, identifier), count in sorted(counter.items(), key=lambda item: (school(item[0][0]), item[0][1]))
        ]

    return {
        "dry_run": report.dry_run,
        "devices": report.devices,
        "up_to_date": report.up_to_date,
        "install": counted(report.installs),
        "remove": counted(report.removes),
        "licences": counted(report.licences),
        "cancelled": report.cancelled,
        "queued": report.queued,
        "blocked": [{"school": school(s), "profile": p, "reason": r, "devices": n} for (s, p, r), n in sorted(report.blocked.items())],
        "left_out": [{"school": school(s), "note": note, "devices": n} for (s, note), n in sorted(report.left_out.items())],
        "skipped": [{"reason": reason, "devices": n} for reason, n in sorted(report.skipped.items())],
        "declarations": [
            {"school": school(s), "told": report.declarations.told[s], "enabled": report.declarations.enabled[s]}
            for s in sorted(set(report.declarations.told) | set(report.declarations.enabled), key=school)
        ],
    }


def change_out(result: ChangeResult, codes: dict[int, str]) -> dict[str, Any]:
    return {
        "layer": result.layer,
        "saved": result.version is not None,
        "version": result.version.number if result.version is not None else None,
        "changes": result.changes,
        "devices": report_out(result.report, codes),
    }


def effective_out(view: EffectiveView) -> dict[str, Any]:
    """A device's effective policy: every value with its provenance, what was left out, its profiles."""
    label = lambda layer_id: view.labels.get(layer_id, str(layer_id))  # noqa: E731
    device = view.device
    return {
        "device": {"id": device.id, "serial_number": device.serial_number, "udid": device.udid, "platform": device.platform},
        "layers": [label(layer) for layer in view.policy.layers],
        "settings": [
            provenance_row(SettingRef(payload.ref, key), item, label)
            for payload in view.policy.payloads
            for key, item in sorted(payload.values.items())
        ],
        "left_out": [
            {"payload": str(note.payload), "key": note.key, "reason": note.reason, "layer": label(note.layer) if note.layer else None}
            for note in view.policy.left_out
        ],
        "profiles": _profiles(view),
    }


def _profiles(view: EffectiveView) -> list[dict[str, Any]]:
    status = view.status
    rows = [
        {
            "identifier": artifact.identifier,
            "version": artifact.version,
            "state": status.state_of(artifact.identifier, artifact.version) if status else "applied per organisational unit",
        }
        for artifact in view.compiled.artifacts
    ]
    if status is not None:
        rows += [{"identifier": identifier, "version": None, "state": "to remove"} for identifier in status.plan.remove]
        rows += [{"identifier": item.identifier, "version": item.version, "state": "outside the policy (left alone)"}
                 for item in status.plan.unmanaged]
    return rows
