"""marshmallow schemas: the boundary where admin input is checked (unknown keys are errors)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from app.errors import InvalidInput
from app.models.base import MAX_ROW_ID
from mdm_protocol import plist_values

def _sentence(reason: str) -> str:
    return reason[0].upper() + reason[1:] + "."


class RowId(fields.Integer):
    """A row id: a number beyond any id is refused here, not by the database; text must be
    ASCII digits ("１" is not 1)."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, str) and not (value.isascii() and value.strip().lstrip("+-").isdigit()):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def row_id(**kwargs: Any) -> fields.Integer:
    return RowId(validate=validate.Range(min=1, max=MAX_ROW_ID, error="Not an id."), **kwargs)


class InputSchema(Schema):
    """Admin input: unknown keys are an error, every message names its field, and nothing is
    taken that cannot be stored or sent (``mdm_protocol.plist_values``): NUL (PostgreSQL refuses
    it), other control characters and lone surrogates (no plist or UTF-8 holds them), numbers
    past 64 bits, NaN or infinite. Nothing a person types contains them."""

    class Meta:
        unknown = RAISE

    @pre_load
    def _refuse_unstorable(self, data: Any, **_: Any) -> Any:
        errors: dict[str, list[str]] = {}
        for path, reason in plist_values.problems(data):
            errors.setdefault(path or "input", []).append(_sentence(reason))
        if errors:
            raise ValidationError(errors)
        return data


def parse_json(data: bytes) -> Any:
    """Strict JSON (RFC 8259): ``NaN``, ``Infinity`` and numbers past a double's range
    (``1e400``) are refused, which Python's parser would take as floats no database stores."""
    try:
        return json.loads(data, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:  # nested deeper than Python parses
        raise InvalidInput("the JSON is nested too deeply") from None
    except _NotJson as error:
        raise InvalidInput(f"the JSON holds {error}, which is not a JSON number") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise InvalidInput("send a JSON object: the body is not valid JSON") from None


class _NotJson(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NotJson(name)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _NotJson(text[:20])
    return number


def load(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """``schema.load`` turning marshmallow's errors into one InvalidInput."""
    try:
        return schema.load(data)
    except ValidationError as error:
        raise InvalidInput("invalid input", details=_flatten(error.messages)) from None


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "input"
            for sub_key, sub_value in _flatten(value, name).items():
                flat.setdefault(sub_key, []).extend(sub_value)
    elif isinstance(messages, list):
        flat[prefix or "input"] = [str(item) for item in messages]
    else:
        flat[prefix or "input"] = [str(messages)]
    return flat
