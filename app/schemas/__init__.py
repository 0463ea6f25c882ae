"""marshmallow schemas: the boundary where admin input is checked (unknown keys are errors)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from app.errors import InvalidInput

#: Row ids are 32-bit integers in both databases; a larger number names no row.
MAX_ROW_ID = 2**31 - 1
NUL_MESSAGE = "Must not contain NUL characters."


def row_id(**kwargs: Any) -> fields.Integer:
    """An integer field for a row id: a number beyond any id is refused here, not by the database."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ROW_ID, error="Not an id."), **kwargs)


class InputSchema(Schema):
    """Admin input: unknown keys are an error, every message names its field, no text holds NUL
    (PostgreSQL cannot store it, and nothing a person types contains it)."""

    class Meta:
        unknown = RAISE

    @pre_load
    def _refuse_nul(self, data: Any, **_: Any) -> Any:
        errors = {path or "input": [NUL_MESSAGE] for path in _paths_with_nul(data)}
        if errors:
            raise ValidationError(errors)
        return data


def _paths_with_nul(data: Any) -> list[str]:
    """Where text holds NUL; walked with a list, not recursion, so any nesting JSON allows is fine."""
    found: list[str] = []
    pending: list[tuple[Any, str]] = [(data, "")]
    while pending:
        value, path = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                found.append(path)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(key, str) and "\x00" in key:
                    found.append(path or "input")
                pending.append((item, f"{path}.{key}" if path else str(key)))
        elif isinstance(value, (list, tuple)):
            pending.extend((item, path) for item in value)
    return found


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
