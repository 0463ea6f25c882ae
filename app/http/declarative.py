"""``GET /mdm/declared-profiles/...``: profiles devices managed declaratively install from legacy declarations.

Thin: the URL carries the device, an HMAC token, the profile's identifier
and version (``app.services.declarations.profile_urls``); the service
checks all of it and answers the signed profile or 404.
"""

from __future__ import annotations

from flask import Blueprint, Response

from app import endpoints
from app.http import db_session
from app.http.rules import device_endpoint
from app.services.declarations import sets

blueprint = Blueprint("declarative", __name__)

PROFILE_CONTENT_TYPE = "application/x-apple-aspen-config"


@blueprint.get(f"{endpoints.DECLARED_PROFILES}/<int:device_id>/<token>/<identifier>/<version>")
@device_endpoint
def declared_profile(device_id: int, token: str, identifier: str, version: str) -> Response:
    data = sets.signed_profile(db_session(), device_id, token, identifier, version)
    response = Response(data, content_type=PROFILE_CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response
