"""Enrollment tokens: a school's enrollment URLs."""

from __future__ import annotations

from flask import jsonify

from app.http import db_session
from app.http.api import blueprint, body, query
from app.http.api.openapi import operation
from app.http.rules import current_principal, requires
from app.schemas.admin import EnrollmentTokenOut, SchoolQuery
from app.schemas.enrollment import TokenCreate
from app.schemas.api import EnrollmentTokenCreatedOut, EnrollmentTokenListOut, EnrollmentTokenStateOut, UrlOut
from app.services.access import Permission
from app.services.mdm import enrollment


def _dump(token) -> dict:
    return {**EnrollmentTokenOut().dump(token), "state": enrollment.token_state(token)}


@blueprint.get("/enrollment-tokens")
@requires(Permission.VIEW)
@operation(query=SchoolQuery, response=EnrollmentTokenListOut)
def list_enrollment_tokens():
    found = enrollment.list_tokens(db_session(), current_principal(), school_code=query(SchoolQuery())["school"])
    return jsonify(enrollment_tokens=[_dump(token) for token in found])


@blueprint.post("/enrollment-tokens")
@requires(Permission.MANAGE)
@operation(body=TokenCreate, response=EnrollmentTokenCreatedOut, status=201)
def create_enrollment_token():
    data = body(TokenCreate())
    created = enrollment.create_token(
        db_session(), current_principal(), school_code=data["school"], expires_in=data["expires"],
        max_uses=data["max_uses"], label=data["label"], group=data["group"],
    )
    return jsonify({**_dump(created.token), "url": created.url}), 201


@blueprint.get("/enrollment-tokens/<int:enrollment_token_id>")
@requires(Permission.VIEW)
@operation(response=EnrollmentTokenStateOut)
def show_enrollment_token(enrollment_token_id: int):
    return jsonify(_dump(enrollment.get_token(db_session(), current_principal(), enrollment_token_id)))


@blueprint.get("/enrollment-tokens/<int:enrollment_token_id>/url")
@requires(Permission.MANAGE)
@operation(response=UrlOut)
def enrollment_token_url(enrollment_token_id: int):
    return jsonify(url=enrollment.url_of(db_session(), current_principal(), enrollment_token_id))


@blueprint.post("/enrollment-tokens/<int:enrollment_token_id>/revoke")
@requires(Permission.MANAGE)
@operation(response=EnrollmentTokenStateOut)
def revoke_enrollment_token(enrollment_token_id: int):
    return jsonify(_dump(enrollment.revoke_token(db_session(), current_principal(), enrollment_token_id)))
