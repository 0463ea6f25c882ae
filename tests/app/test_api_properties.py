"""Every operation of ``/api/v1/openapi.json``, called by Schemathesis with generated input as each
role: never a 5xx, and every answer (success or problem document) matches what the description says.

The description is the one Flokk serves; each operation (one test each) gets a fresh
world (schools, devices, commands, approvals, policy layers) so ids in generated paths often name
real objects, and each role calls it with its own API token. The number of generated calls per
operation and role is small (the suite runs often); raise ``FLOKK_PROPERTY_EXAMPLES`` to dig deeper.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import OpenAPIV31SpecValidator
from schemathesis.checks import not_a_server_error
from schemathesis.transport.wsgi import WSGI_TRANSPORT
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

from tests.app.test_endpoint_matrix import ROLES, _url_map_app, build_world
from tests.support import people

#: Thousands of generated requests: each case on one of the two databases (tests/conftest.py).
pytestmark = pytest.mark.sweep

EXAMPLES = int(os.environ.get("FLOKK_PROPERTY_EXAMPLES", "4"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, response_headers_conformance]


def _description() -> dict:
    spec = _url_map_app().test_client().get("/api/v1/openapi.json").get_json()
    OpenAPIV31SpecValidator(spec).validate()
    return spec


#: The description Flokk serves (routes do not depend on the database); one test per operation.
schema = schemathesis.openapi.from_dict(_description())


#: Per database and operation: the tokens of one fresh world (a call may revoke a token or delete
#: an object; the next operation starts again from a whole world).
_WORLDS: dict[tuple[int, str], dict[str, str]] = {}


def tokens_for(db, operation: str) -> dict[str, str]:
    key = (id(db), operation)
    if key not in _WORLDS:
        with db.session() as session:
            world = build_world(session, with_policy=True)
            session.commit()
            _WORLDS[key] = {role: world.tokens[role] for role in ROLES}
    return _WORLDS[key]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_as_every_role(case, app, db):
    tokens = tokens_for(db, case.operation.label)
    for headers in (*(people.bearer(tokens[role]) for role in ROLES), {}):  # {}: no token, a 401 problem document
        response = WSGI_TRANSPORT.send(case, app=app, headers=headers)
        case.validate_response(response, checks=CHECKS)
