"""Changes to policy layers as the REST API and the dashboard's policy form send them.

A change names a payload (alias or PayloadType, ``wifi:eduroam`` for an
instance), a key from Apple's schema (``*`` or none: the whole payload) and
an action. Values arrive as JSON (API) or text (dashboard form, read by the
key's type as the CLI does); whether a value fits its key, and whether a
layer above locked it, is the policy service's to decide, so every refusal
names the key the same way everywhere.
"""

from __future__ import annotations

import json
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from app.schemas import InputSchema
from app.services.policy import NOTE_LENGTH
from profiles import WHOLE_PAYLOAD, Action, Change, SettingRef
from profiles.payloads import UnknownPayload, kind, parse_ref
from profiles.values import BadText, from_json, parse_text

MAX_CHANGES = 200
_KEY = validate.Regexp(r"^(\*|[A-Za-z0-9_.-]{1,128})\Z", error="Not a key name.")
_PAYLOAD = validate.Length(min=1, max=200)
_VALUED = (Action.SET,)
_LOCKABLE = (Action.SET, Action.REMOVE)


def setting_ref(payload: str, key: str | None) -> SettingRef:
    """The setting a payload name and key address; ValidationError naming ``payload`` for unknown payloads."""
    try:
        return SettingRef(parse_ref(payload), key or WHOLE_PAYLOAD)
    except UnknownPayload as error:
        raise ValidationError(str(error), field_name="payload") from None
    except ValueError as error:  # an instance name that is not a slug
        raise ValidationError(str(error), field_name="payload") from None


class ChangeInput(InputSchema):
    """One change: ``{"action": "set", "payload": "passcode", "key": "minLength", "value": 8, "lock": true}``."""

    action = fields.String(required=True, validate=validate.OneOf([action.value for action in Action]))
    payload = fields.String(required=True, validate=_PAYLOAD)
    key = fields.String(load_default=WHOLE_PAYLOAD, validate=_KEY)
    value = fields.Raw(load_default=None, allow_none=True)
    lock = fields.Boolean(load_default=None, allow_none=True)

    @validates_schema
    def _fits_action(self, data: dict[str, Any], **kwargs: Any) -> None:
        action = Action(data["action"])
        if action in _VALUED and data["value"] is None:
            raise ValidationError("Give the value to set.", field_name="value")
        if action in _VALUED and data["key"] == WHOLE_PAYLOAD:
            raise ValidationError("Name the key to set.", field_name="key")
        if action not in _VALUED and data["value"] is not None:
            raise ValidationError(f"{action.value} takes no value.", field_name="value")
        if action not in _LOCKABLE and data["lock"] is not None:
            raise ValidationError(f"{action.value} takes no lock; use lock or unlock.", field_name="lock")

    @post_load
    def _change(self, data: dict[str, Any], **kwargs: Any) -> Change:
        action = Action(data["action"])
        ref = setting_ref(data["payload"], data["key"])
        value = value_from_json(data["value"]) if action in _VALUED else None
        return Change(ref, action, value, data["lock"] if action in _LOCKABLE else None)


def value_from_json(value: Any) -> Any:
    """A setting value from JSON: ``{"$data": base64}`` for bytes, ``{"$date": ISO 8601}`` for dates.

    Flokk's own markers (``$flokk``: removed, lock-only) are not values: the
    actions ``remove`` and ``lock`` say that.
    """
    problem = _structure_problem(value)
    if problem:
        raise ValidationError(problem, field_name="value")
    try:
        return from_json(value)
    except (ValueError, TypeError) as error:  # bad base64 or date
        raise ValidationError(f"{{\"$data\": base64}} or {{\"$date\": ISO 8601}} expected ({error}).", field_name="value") from None


MAX_DEPTH = 16


def _structure_problem(value: Any) -> str | None:
    """Flokk's markers anywhere in the value, or nesting deeper than any Apple payload key needs."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"Nested deeper than {MAX_DEPTH} levels."
        if isinstance(item, dict):
            if "$flokk" in item:
                return "$flokk is not a value; use the actions remove or lock."
            stack.extend((sub, depth + 1) for sub in item.values())
        elif isinstance(item, list):
            stack.extend((sub, depth + 1) for sub in item)
    return None


class LayerChange(InputSchema):
    """A list of changes to one layer, applied all or nothing; ``dry_run``: the preview only."""

    changes = fields.List(fields.Nested(ChangeInput), required=True, validate=validate.Length(min=1, max=MAX_CHANGES))
    dry_run = fields.Boolean(load_default=False)
    note = fields.String(load_default=None, validate=validate.Length(max=NOTE_LENGTH))


class SettingForm(InputSchema):
    """The dashboard's form: set (with a value, and for central IT a lock) or unset one setting,
    with an optional note for the layer's history.

    ``intent`` is the button pressed: preview (nothing saved) or save.
    """

    payload = fields.String(required=True, validate=_PAYLOAD)
    key = fields.String(required=True, validate=_KEY)
    value = fields.String(load_default=None, validate=validate.Length(max=100_000))
    action = fields.String(load_default=Action.SET.value, validate=validate.OneOf([Action.SET.value, Action.UNSET.value]))
    lock = fields.Boolean(load_default=None)
    intent = fields.String(load_default="preview", validate=validate.OneOf(["preview", "save"]))
    note = fields.String(load_default=None, validate=validate.Length(max=NOTE_LENGTH))

    @validates_schema
    def _value_when_setting(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["action"] == Action.SET.value and data["value"] is None:
            raise ValidationError("Give the value to set.", field_name="value")

    @post_load
    def _change(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        ref = setting_ref(data["payload"], data["key"])
        if data["action"] == Action.UNSET.value:
            change = Change(ref, Action.UNSET)
        else:
            change = Change(ref, Action.SET, value_from_text(ref, data["value"]), data["lock"])
        return {"change": change, "dry_run": data["intent"] == "preview", "note": data["note"]}


def value_from_text(ref: SettingRef, text: str) -> Any:
    """Form text as a value of the key's type (true/false, numbers, JSON); unknown keys pass on as text
    so the policy service refuses them with its usual reason."""
    spec = kind(ref.payload.payload_type).key_spec(ref.key)
    if spec is None or spec.type == "data":
        return text
    if spec.type in ("array", "dictionary"):
        try:
            return value_from_json(json.loads(text))
        except (json.JSONDecodeError, RecursionError):
            raise ValidationError(f"{ref.key} must be JSON.", field_name="value") from None
    try:
        return parse_text(spec, text)
    except BadText as error:
        raise ValidationError(f"{ref.key} {error}.", field_name="value") from None
