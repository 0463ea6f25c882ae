"""URL converters shared by the REST API and the dashboard."""

from __future__ import annotations

from werkzeug.routing import BaseConverter, IntegerConverter

from app.schemas import MAX_ROW_ID


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in a URL: a number beyond any row id matches no route (404), not the database."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


class LayerConverter(BaseConverter):
    """A policy layer as the policy service names it: ``baseline``, ``school:CODE``,
    ``group:CODE/NAME`` or ``device:SERIAL`` (or UDID, or ``#id``, written ``%23id``).

    The group's name is one path segment, so ``/versions`` after it stays unambiguous;
    the service resolves the name and checks the principal's rights.
    """

    regex = r"baseline|school:[^/]+|group:[^/]+/[^/]+|device:[^/]+"
    part_isolating = False


def install(app) -> None:
    """Register Flokk's converters (before any blueprint's routes are added)."""
    app.url_map.converters["int"] = RowIdConverter
    app.url_map.converters["layer"] = LayerConverter
