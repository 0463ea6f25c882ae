"""marshmallow schemas: the boundary where admin input is checked (unknown keys are errors)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError

from app.errors import InvalidInput


class InputSchema(Schema):
    """Admin input: unknown keys are an error, every message names its field."""

    class Meta:
        unknown = RAISE


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
