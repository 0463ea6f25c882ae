"""Input for enrollment tokens."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from marshmallow import ValidationError, fields, validate

from app.schemas import InputSchema
from app.schemas.schools import SCHOOL_CODE

_DURATION = re.compile(r"^\s*(\d{1,5})\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_DURATION = dt.timedelta(days=5 * 366)


class Duration(fields.Field):
    """``30d``, ``12h``, ``2w`` or ``90m``, as a timedelta."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.timedelta:
        match = _DURATION.match(str(value))
        if not match:
            raise ValidationError("Use a number and a unit: 90m, 12h, 30d or 2w.")
        duration = dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        if duration <= dt.timedelta(0):
            raise ValidationError("Must be longer than zero.")
        if duration > MAX_DURATION:
            raise ValidationError("Must be at most five years.")
        return duration


class TokenCreate(InputSchema):
    school = fields.String(required=True, validate=validate.Regexp(SCHOOL_CODE, error="Not a school code."))
    expires = Duration(load_default=None)
    max_uses = fields.Integer(load_default=None, validate=validate.Range(min=1, max=1_000_000))
    label = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    group = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class TransferAllow(InputSchema):
    """Central IT lets another school take a device over at its next enrolment there."""

    school = fields.String(required=True, validate=validate.Regexp(SCHOOL_CODE, error="Not a school code."))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    expires = Duration(load_default=None)
