"""URL converters shared by the REST API and the dashboard."""

from __future__ import annotations

from werkzeug.routing import BaseConverter


class LayerConverter(BaseConverter):
    """A policy layer as the policy service names it: ``baseline``, ``school:CODE``,
    ``group:CODE/NAME`` or ``device:SERIAL`` (or UDID, or ``#id``, written ``%23id``).

    The group's name is one path segment, so ``/versions`` after it stays unambiguous;
    the service resolves the name and checks the principal's rights.
    """

    regex = r"baseline|school:[^/]+|group:[^/]+/[^/]+|device:[^/]+"
    part_isolating = False
