"""``GET /enroll/<token>``: the signed enrollment profile of a school, or a page saying why not;
``POST /asm/enroll``: the same for an iPad in Setup Assistant (Automated Device Enrollment), from its signed MachineInfo."""

from __future__ import annotations

from flask import Blueprint, Response, request
from markupsafe import escape

from app import endpoints
from app.errors import Gone, NotFound, NotReady
from app.http import db_session
from app.http.rules import device_endpoint
from app.services.asm import enrolment as ade
from app.services.mdm import enrollment
from mdm_protocol.asm import machine_info

blueprint = Blueprint("enroll", __name__)

_TITLES = {
    NotFound.status: "This enrollment link does not exist",
    Gone.status: "This enrollment link is no longer valid",
    NotReady.status: "Enrollment is not available yet",
}


@blueprint.get(f"{endpoints.ENROLL}/<token>")
@device_endpoint
def enrollment_profile(token: str) -> Response:
    try:
        profile = enrollment.build_profile(db_session(), token)
    except (NotFound, Gone, NotReady) as error:
        return page(error.status, _TITLES[error.status], error.message)
    response = Response(profile.data, content_type=profile.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{profile.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post(endpoints.ASM_ENROLL)
@device_endpoint
def ade_enrollment_profile() -> Response:
    """The device proves who it is with Apple's signature over its MachineInfo (checked by the service)."""
    if (request.content_length or 0) > machine_info.MAX_BYTES:
        raise ade.MalformedMachineInfo(f"the MachineInfo is larger than {machine_info.MAX_BYTES} bytes")
    profile = ade.enrollment_profile(db_session(), request.stream.read(machine_info.MAX_BYTES + 1))
    response = Response(profile.data, content_type=profile.content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def page(status: int, title: str, message: str) -> Response:
    """A small human-readable page for someone holding an iPad, not a JSON error."""
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>body{{font-family:-apple-system,system-ui,sans-serif;max-width:32em;margin:3em auto;padding:0 1em;line-height:1.5}}</style>
</head><body><h1>{escape(title)}</h1><p>{escape(message[:1].upper() + message[1:])}.</p>
<p>Ask your school's ICT contact for a working enrollment link.</p></body></html>
"""
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response
