"""URL converters shared by the REST API and the dashboard.

Every path part is checked here, before any view or query sees it: ids are
ASCII digits within a row id's range, and text parts hold no control
characters (NUL cannot reach the database). A part that does not fit matches
no route: 404.
"""

from __future__ import annotations

from werkzeug.routing import BaseConverter, IntegerConverter, UnicodeConverter

from app.models.base import MAX_ROW_ID

#: One path segment without control characters (C0, DEL).
_SEGMENT = r"[^/\x00-\x1f\x7f]"


def decimal_at_most(limit: int) -> str:
    """A regex for the numbers 0 to ``limit`` in ASCII digits, without leading zeros.

    Range checks belong in the pattern: a converter that refuses a value after its pattern
    matched makes Werkzeug answer 405, not 404, when another method shares the path.
    """
    digits = str(limit)
    options = ["0", f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else ["0"]
    for index, digit in enumerate(digits):  # as many digits as limit: below it at this position
        low = 1 if index == 0 else 0
        if int(digit) > low:
            options.append(f"{digits[:index]}[{low}-{int(digit) - 1}][0-9]{{{len(digits) - index - 1}}}")
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


class RowIdConverter(IntegerConverter):
    """``<int:...>``: a row id (or a version number; 0 names no row) in ASCII digits (``\\d``
    also matches "１", which ``int()`` reads as 1); a number beyond any row id matches no route
    (404), not the database."""

    regex = decimal_at_most(MAX_ROW_ID)


class TextConverter(UnicodeConverter):
    """``<name>`` (the default converter): one path segment without control characters."""

    def __init__(self, map, minlength: int = 1, maxlength: int | None = None, length: int | None = None) -> None:  # noqa: A002
        super().__init__(map, minlength, maxlength, length)
        self.regex = self.regex.replace("[^/]", _SEGMENT, 1)


class LayerConverter(BaseConverter):
    """A policy layer as the policy service names it: ``baseline``, ``school:CODE``,
    ``group:CODE/NAME`` or ``device:SERIAL`` (or UDID, or ``#id``, written ``%23id``).

    The group's name is one path segment, so ``/versions`` after it stays unambiguous;
    the service resolves the name and checks the principal's rights.
    """

    regex = rf"baseline|school:{_SEGMENT}+|group:{_SEGMENT}+/{_SEGMENT}+|device:{_SEGMENT}+"
    part_isolating = False


def install(app) -> None:
    """Register Flokk's converters (before any blueprint's routes are added)."""
    app.url_map.converters["int"] = RowIdConverter
    app.url_map.converters["default"] = TextConverter
    app.url_map.converters["string"] = TextConverter
    app.url_map.converters["layer"] = LayerConverter
