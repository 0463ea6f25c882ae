"""Input for schools."""

from marshmallow import fields, validate

from app.schemas import InputSchema, row_id

SCHOOL_CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}\Z"  # \Z: "$" would let a trailing line break through


def _not_blank(value: str) -> bool:
    return bool(value.strip())


class SchoolCreate(InputSchema):
    name = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=200), validate.Predicate("strip", error="Must not be blank.")],
    )
    code = fields.String(
        required=True,
        validate=validate.Regexp(
            SCHOOL_CODE, error="Use 1 to 32 letters, digits, '-' or '_', starting with a letter or digit."
        ),
    )
    organisation = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


class StarterPackQuery(InputSchema):
    """``?link=ID``: the enrollment link the starter pack carries (default: the school's newest active one)."""

    link = row_id(load_default=None)
