"""The policy pages: one layer (the baseline, a school's, a group's) in context, its history, and a
device's effective policy.

A layer's page lists what the stack says at that layer with where each value
comes from and who locked it (baseline → school → group); the form previews
(nothing saved) or saves one set or unset; the history lists every saved
version (who, when, note, what changed) with a button to restore an older one.
A refusal (a key central IT locked, a value that does not fit, a restore that a
lock now forbids) shows on the same page with the key and the reason, status
422, nothing saved. Which layer a URL names is resolved here (a group by its
id, through the group service, so another school's group is 404); who may
read or change it is the policy service's decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.errors import InvalidInput
from app.http import db_session
from app.http.dashboard import blueprint, form_data, labels, notice
from app.http.rules import current_principal, requires
from app.models.tenancy import Group, School
from app.schemas import load
from app.schemas.policy import SettingForm
from app.schemas.policy_views import payload_name, report_out
from app.services import policy
from app.services.access import Permission
from app.services.fleet import devices, groups, schools
from profiles import LOCK_ONLY, REMOVED, LayerId, SettingRef
from profiles.payloads import all_kinds
from profiles.secrets import mask
from profiles.values import show

_FIELDS = ("payload", "key", "value", "action", "intent", "note")
#: Versions listed on a page, newest first; older ones stay in the REST API and the CLI.
HISTORY_SHOWN = 50


@dataclass(frozen=True)
class _Layer:
    """A layer as the dashboard addresses it: the service's name for it and the page's endpoints."""

    name: str
    endpoint: str
    args: dict[str, Any] = field(default_factory=dict)
    school: School | None = None
    group: Group | None = None
    #: Central IT locks settings on the baseline only (a lock forbids every school to change it).
    lockable: bool = False

    def url(self) -> str:
        """The page (the form posts here too)."""
        return url_for(f"dashboard.{self.endpoint}", **self.args)

    def restore_url(self, number: int) -> str:
        return url_for(f"dashboard.restore_{self.endpoint}", number=number, **self.args)

    @property
    def title(self) -> str:
        if self.group is not None:
            return _("Policy of %(group)s (%(school)s)", group=self.group.name, school=self.school.name)
        if self.school is not None:
            return _("Policy of %(school)s", school=self.school.name)
        return _("Baseline policy")


def _school_layer(code: str) -> _Layer:
    school = schools.get_school_by_code(db_session(), current_principal(), code)
    return _Layer(f"school:{school.code}", "school_policy", {"code": school.code}, school=school)


def _group_layer(group_id: int) -> _Layer:
    """A group by id (its name may hold ``/``); NotFound for a group of a school the principal does not see."""
    group = groups.get_group(db_session(), current_principal(), group_id)
    return _Layer(f"group:{group.school.code}/{group.name}", "group_policy", {"group_id": group.id},
                  school=group.school, group=group)


def _baseline_layer() -> _Layer:
    return _Layer("baseline", "baseline_policy", lockable=True)


@blueprint.get("/schools/<code>/policy")
@requires(Permission.VIEW)
def school_policy(code: str):
    return _page(_school_layer(code))


@blueprint.post("/schools/<code>/policy")
@requires(Permission.MANAGE)
def change_school_policy(code: str):
    return _change(_school_layer(code))


@blueprint.post("/schools/<code>/policy/versions/<int:number>/restore")
@requires(Permission.MANAGE)
def restore_school_policy(code: str, number: int):
    return _restore(_school_layer(code), number)


@blueprint.get("/groups/<int:group_id>/policy")
@requires(Permission.VIEW)
def group_policy(group_id: int):
    return _page(_group_layer(group_id))


@blueprint.post("/groups/<int:group_id>/policy")
@requires(Permission.MANAGE)
def change_group_policy(group_id: int):
    return _change(_group_layer(group_id))


@blueprint.post("/groups/<int:group_id>/policy/versions/<int:number>/restore")
@requires(Permission.MANAGE)
def restore_group_policy(group_id: int, number: int):
    return _restore(_group_layer(group_id), number)


@blueprint.get("/policy")
@requires(Permission.VIEW)
def baseline_policy():
    return _page(_baseline_layer())


@blueprint.post("/policy")
@requires(Permission.ADMINISTER, central=True)
def change_baseline_policy():
    return _change(_baseline_layer())


@blueprint.post("/policy/versions/<int:number>/restore")
@requires(Permission.ADMINISTER, central=True)
def restore_baseline_policy(number: int):
    return _restore(_baseline_layer(), number)


def _change(layer: _Layer):
    if "form_payload" in request.form:
        return _change_from_form(layer)
    fields = form_data(*_FIELDS)
    if layer.lockable:
        fields["lock"] = request.form.get("lock") == "1"
    try:
        data = load(SettingForm(), fields)
        result = policy.change(db_session(), current_principal(), layer.name, [data["change"]],
                               dry_run=data["dry_run"], note=data["note"])
    except InvalidInput as refused:
        return _page(layer, refused=refused, form=fields), 422
    if data["dry_run"]:
        codes = policy.school_codes(db_session(), current_principal(), result.report.school_ids())
        return _page(layer, preview=result, report=report_out(result.report, codes), form=fields)
    if result.version is None:
        notice(_("Nothing changed: the layer already says so."))
    else:
        notice(_("Saved as version %(number)s; %(count)s device(s) get the change.", number=result.version.number,
                 count=result.report.queued))
    return redirect(layer.url())


#: Payloads offered as a form (one instance per device); the rest, and lists and dictionaries, in the expert field.
FORM_PAYLOADS = ("restrictions", "passcode")
#: Apple's key types the form shows as a switch, a number or a choice.
_FORM_TYPES = ("boolean", "integer", "real", "string")
#: Devices whose keys the form offers.
_FORM_PLATFORM = "ipados"


def form_fields(stack: policy.LayerStack, alias: str) -> list[dict[str, Any]]:
    """The payload's keys as form fields: Apple's title, the input (switch, select, number with its range, text),
    the current value and where it is set, and whether a lock above this layer makes it read-only."""
    from profiles.payloads import kind, parse_ref

    payload_kind, payload = kind(alias), parse_ref(alias)
    own = stack.target.layer.id
    found = []
    for spec in payload_kind.spec.keys:
        if (spec.name.startswith("Payload") or spec.name in payload_kind.forbidden_keys or spec.type not in _FORM_TYPES
                or not spec.available_on(_FORM_PLATFORM)):
            continue
        item = stack.settings.get(SettingRef(payload, spec.name))
        locked_in = item.provenance.locked_in if item is not None else None
        if spec.type == "boolean":
            widget = "switch"
        elif spec.allowed:
            widget = "select"
        elif spec.type in ("integer", "real"):
            widget = "number"
        else:
            widget = "text"
        found.append({
            "key": spec.name, "title": spec.title or spec.name, "widget": widget, "type": spec.type,
            "allowed": list(spec.allowed or ()), "minimum": spec.minimum, "maximum": spec.maximum, "default": spec.default,
            "is_set": item is not None, "value": item.value if item is not None else spec.default,
            "set_in": stack.label(item.provenance.layer) if item is not None else None,
            "locked": locked_in is not None and locked_in != own, "locked_in": stack.label(locked_in),
            "locked_by": item.provenance.locked_by if item is not None else None,
            "supervised": bool(spec.os_info(_FORM_PLATFORM).get("supervised")),
        })
    return found


def _change_from_form(layer: _Layer):
    """The settings form: a change for each field whose value differs from what the layer has now. A field
    locked above this layer is not in the form, and one sent anyway is left out (the policy service would
    refuse it too)."""
    from app.schemas.policy import value_from_text
    from marshmallow import ValidationError
    from profiles import Change
    from profiles.layers import Action
    from profiles.payloads import parse_ref

    alias = request.form.get("form_payload", "")
    intent = request.form.get("intent", "preview")
    note = request.form.get("note", "").strip() or None
    if alias not in FORM_PAYLOADS or intent not in ("preview", "save") or (note and len(note) > 500):
        raise InvalidInput("not a settings form", details={"form_payload": ["Not a form Flokk offers."]})
    stack = policy.show_layer(db_session(), current_principal(), layer.name)
    fields = {field["key"]: field for field in form_fields(stack, alias)}
    payload = parse_ref(alias)
    changes, values = [], {}
    for name in request.form:
        if name.startswith("setting.") and name[len("setting."):] not in fields:
            raise InvalidInput(f"{alias} has no key {name[len('setting.'):]} in the form",
                               details={name: ["Not a setting of the form."]})
    try:
        for key, field in fields.items():
            sent = request.form.getlist(f"setting.{key}")
            if not sent or field["locked"]:
                continue
            text = sent[-1].strip()  # a switch sends "false", then "true" when it is on
            values[key] = text
            if text == "" and not field["is_set"]:
                continue
            ref = SettingRef(payload, key)
            if text == "":
                changes.append(Change(ref, Action.UNSET))
                continue
            value = value_from_text(ref, text)
            if value != field["value"] or not field["is_set"] and value != field["default"]:
                changes.append(Change(ref, Action.SET, value))
    except ValidationError as error:
        refused = InvalidInput("a value does not fit", details=error.normalized_messages())
        return _page(layer, refused=refused, form_payload=alias, form_values=values), 422
    if not changes:
        notice(_("Nothing changed: the layer already says so."))
        return redirect(url_for(f"dashboard.{layer.endpoint}", form=alias, **layer.args))
    try:
        result = policy.change(db_session(), current_principal(), layer.name, changes, dry_run=intent == "preview", note=note)
    except InvalidInput as refused:
        return _page(layer, refused=refused, form_payload=alias, form_values=values), 422
    if intent == "preview":
        codes = policy.school_codes(db_session(), current_principal(), result.report.school_ids())
        return _page(layer, preview=result, report=report_out(result.report, codes), form_payload=alias, form_values=values)
    notice(_("Saved as version %(number)s; %(count)s device(s) get the change.", number=result.version.number,
             count=result.report.queued))
    return redirect(url_for(f"dashboard.{layer.endpoint}", form=alias, **layer.args))


def _restore(layer: _Layer, number: int):
    """An older version becomes current again as a new version; a lock set since then refuses it on the page."""
    try:
        result = policy.restore(db_session(), current_principal(), layer.name, number)
    except InvalidInput as refused:
        return _page(layer, refused=refused), 422
    if result.version is None:
        notice(_("Nothing changed: the layer already says so."))
    else:
        notice(_("Version %(old)s restored as version %(number)s; %(count)s device(s) get the change.", old=number,
                 number=result.version.number, count=result.report.queued))
    return redirect(layer.url())


def setting_rows(stack: policy.LayerStack) -> list[dict[str, Any]]:
    """The values the stack gives this layer, then what a layer removed or locked as a whole
    (those set no value, yet a school must see them)."""
    rows = [
        _row(stack.label, ref, show(mask(ref, item.value)), item.provenance.layer, item.provenance.set_by,
             item.provenance.locked_in, item.provenance.locked_by, own=stack.target.layer.id)
        for ref, item in stack.settings.items()
    ]
    for view in [*stack.above, stack.target]:
        for ref, entry in sorted(view.layer.entries.items()):
            if entry.value is REMOVED or entry.value is LOCK_ONLY:
                rows.append(_row(stack.label, ref, show(entry.value), view.layer.id, entry.set_by,
                                 view.layer.id if entry.locked else None, entry.locked_by, own=stack.target.layer.id))
    return rows


def _row(label, ref: SettingRef, value: str, layer: LayerId, set_by: str, locked_in: LayerId | None,
         locked_by: str | None, *, own: LayerId | None = None) -> dict[str, Any]:
    """One setting as the tables show it; ``label`` names a layer id, ``own`` is the page's layer."""
    return {
        "payload": payload_name(ref),
        "key": None if ref.whole_payload else ref.key,
        "value": value,
        "layer": label(layer),
        "own": layer == own,
        "set_by": set_by,
        "locked_in": label(locked_in) if locked_in is not None else None,
        "locked_by": locked_by,
    }


def _history(layer: _Layer) -> tuple[list[Any], int]:
    """The newest versions first (at most HISTORY_SHOWN), and how many older ones are left out."""
    _, versions = policy.history(db_session(), current_principal(), layer.name, newest=HISTORY_SHOWN)
    older = versions[0].number - 1 if versions else 0  # versions are numbered 1, 2, 3 ...
    return versions[::-1], older


def _page(layer: _Layer, **more: Any) -> str:
    session, principal = db_session(), current_principal()
    stack = policy.show_layer(session, principal, layer.name)
    chosen = more.pop("form_payload", None) or request.args.get("form") or None
    if chosen is not None and chosen not in FORM_PAYLOADS:
        raise InvalidInput("no such settings form", details={"form": [f"One of: {', '.join(FORM_PAYLOADS)}."]})
    versions, older = _history(layer)
    if layer.school is None:
        may_change = principal.can(Permission.ADMINISTER, None)
    else:
        may_change = principal.can(Permission.MANAGE, layer.school.id)
    return render_template(
        "policy.html",
        title=layer.title,
        layer=layer,
        stack=stack,
        rows=setting_rows(stack),
        school=layer.school,
        group=layer.group,
        schools=schools.list_schools(session, principal) if layer.school is None else [],
        groups=groups.list_groups(session, principal, school_code=layer.school.code)
        if layer.school is not None and layer.group is None else [],
        payloads=[(kind.alias, kind.title) for kind in all_kinds()],
        keys=_key_choices(),
        versions=versions,
        older_versions=older,
        may_change=may_change,
        form=more.pop("form", {}),
        form_payloads=[(alias, _payload_title(alias)) for alias in FORM_PAYLOADS],
        form_payload=chosen,
        form_fields=form_fields(stack, chosen) if chosen else [],
        form_values=more.pop("form_values", {}),
        **more,
    )


def _payload_title(alias: str) -> str:
    from profiles.payloads import kind

    return kind(alias).title


def _key_choices() -> list[tuple[str, str]]:
    """Every key a person may set, labelled with its payload and Apple's title, for the form's suggestions."""
    return [
        (key.name, f"{kind.alias}: {key.title or key.name}")
        for kind in all_kinds()
        for key in kind.spec.keys
        if not key.name.startswith("Payload") and key.name not in kind.forbidden_keys
    ]


@blueprint.get("/devices/<int:device_id>/policy")
@requires(Permission.VIEW)
def device_policy(device_id: int):
    """What a device gets: every value with the layer it came from, what was left out, its profiles."""
    session, principal = db_session(), current_principal()
    found = devices.get_device(session, principal, device_id)
    view = policy.effective(session, principal, f"#{found.id}")
    label = lambda layer_id: view.labels.get(layer_id, str(layer_id))  # noqa: E731
    rows = []
    for payload in view.policy.payloads:
        for key, item in sorted(payload.values.items()):
            ref = SettingRef(payload.ref, key)
            prov = item.provenance
            row = _row(label, ref, show(mask(ref, item.value)), prov.layer, prov.set_by, prov.locked_in, prov.locked_by)
            row["overrides"] = [(label(layer), show(mask(ref, value))) for layer, value in prov.overrides]
            rows.append(row)
    left_out = [
        {"what": f"{note.payload} {note.key}" if note.key else str(note.payload), "reason": note.reason,
         "layer": label(note.layer) if note.layer else None}
        for note in view.policy.left_out
    ]
    return render_template(
        "device_policy.html",
        device=found,
        layers=[label(layer) for layer in view.policy.layers],
        rows=rows,
        left_out=left_out,
        profiles=_profiles(view),
    )


def _profiles(view: policy.EffectiveView) -> list[dict[str, Any]]:
    """The device's profiles with their state in words (Chromebooks: applied per organisational unit)."""
    status = view.status
    found = [
        (artifact.identifier, status.state_of(artifact.identifier, artifact.version) if status else labels.APPLIED_PER_UNIT)
        for artifact in view.compiled.artifacts
    ]
    if status is not None:
        found += [(identifier, labels.TO_REMOVE) for identifier in status.plan.remove]
        found += [(item.identifier, labels.UNMANAGED) for item in status.plan.unmanaged]
    rows = []
    for identifier, state in found:
        label, reason = labels.profile_state_label(state)
        rows.append({"identifier": identifier, "state": _(label), "reason": reason})
    return rows
