"""Every HTTP endpoint × every role × an object of the role's own school and of another school.

Generated from ``app.url_map``: an endpoint added without an access rule, with
URL arguments this test does not know, or (for POST/PUT/DELETE) without a
sample request fails here with a message saying what to add. Each cell expects
what the endpoint's rule and the role's rights say: success (2xx/3xx), 403 for
a missing right on a visible object, 404 for an object of a school the role
cannot see; anonymous callers get 401 (API) or the sign-in page (dashboard).
An endpoint with a policy ``layer`` in its path is checked once per kind of
layer (baseline, school, group, device): the baseline belongs to no school, so
everyone who sees a school may read it and only central IT may change it.
"""

from __future__ import annotations

import functools
import itertools
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app import create_app
from app.config import Settings
from app.http.rules import ADMIN, DEVICE, PUBLIC, SIGNED_IN, AccessRule, rule_of
from app.models import ApprovalRequest, Command, School
from app.models.accounts import SsoGrantRule
from app.models.base import utcnow
from app.services.access import Grant, Permission, Principal, Role, system_principal
from app.services.mdm import commands, enrollment
from tests.support import factories, people

#: Endpoints that may answer without any principal. Adding one is a deliberate, reviewed change.
PUBLIC_ENDPOINTS = {
    "static",
    "health.healthz",
    "dashboard.login",
    "dashboard.sign_in_with_password",
    "dashboard.oidc_start",
    "dashboard.oidc_callback",
    "dashboard.login_refused",
    "dashboard.language",
}
#: Signed-in endpoints whose POST needs knowledge the matrix does not have (tested in test_sign_in).
SIGNED_IN_POST_ELSEWHERE = {"dashboard.change_password"}

OWN, OTHER = "own", "other"
ROLES: dict[str, tuple[tuple[Role, str | None], ...]] = {
    "central_admin": ((Role.CENTRAL_ADMIN, None),),
    "central_helpdesk": ((Role.CENTRAL_HELPDESK, None),),
    "school_ict": ((Role.SCHOOL_ICT, OWN),),
    "central_auditor": ((Role.AUDITOR, None),),
    "school_auditor": ((Role.AUDITOR, OWN),),
}
ANONYMOUS = "anonymous"


@functools.cache
def _url_map_app():
    settings = Settings(data_dir=Path("/nonexistent"), database_url="sqlite://", public_url="https://flokk.test", secret_key="x" * 40)
    return create_app(settings)


def _endpoints() -> list[tuple[str, str]]:
    app = _url_map_app()
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method))
    return sorted(set(found))


ENDPOINTS = _endpoints()


# ------------------------------------------------------------------ the world


@dataclass
class World:
    schools: dict[str, School] = field(default_factory=dict)
    objects: dict[tuple[str, str], Any] = field(default_factory=dict)  # (kind, side) -> row
    central: dict[str, Any] = field(default_factory=dict)
    admins: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def school(self, side: str) -> School:
        return self.schools[side]

    def id(self, kind: str, side: str) -> int:
        return self.objects[(kind, side)].id


_unique = itertools.count(1)


def build_world(session: Session, *, with_policy: bool = False) -> World:
    world = World()
    for side in (OWN, OTHER):
        school = factories.school(session, f"m{next(_unique)}-{uuid.uuid4().hex[:6]}")
        world.schools[side] = school
        group = factories.group(session, school)
        device = factories.device(session, school, group=group)
        world.objects[("group", side)] = group
        world.objects[("device", side)] = device
        world.objects[("enrollment_token", side)] = enrollment.create_token(
            session, system_principal(), school_code=school.code, label="matrix"
        ).token
        queued = commands.enqueue(session, system_principal(), [device.id], "ProfileList")
        world.objects[("command", side)] = session.query(Command).filter_by(uuid=queued.command_uuids[device.id]).one()
        world.objects[("approval", side)] = _approval(session, school, device)
    requester = people.admin(session, [(Role.SCHOOL_ICT, world.schools[OWN].id)], password=False)
    for request in (world.objects[("approval", OWN)], world.objects[("approval", OTHER)]):
        request.requester_id, request.requested_by = requester.id, requester.label
    target = people.admin(session, [(Role.SCHOOL_ICT, world.schools[OWN].id)], password=False)
    world.central["admin"] = target
    world.central["grant"] = target.grants[0]
    people.api_token(session, [(Role.AUDITOR, None)], name="target")
    from app.models.accounts import ApiToken

    world.central["api_token"] = session.query(ApiToken).filter_by(name="target").order_by(ApiToken.id.desc()).first()
    rule = SsoGrantRule(provider="feide", claim_value=f"unit-{next(_unique)}", role=Role.SCHOOL_ICT,
                        school_id=world.schools[OWN].id, created_by="test")
    session.add(rule)
    for name, grants in ROLES.items():
        resolved = [(role, None if side is None else world.schools[side].id) for role, side in grants]
        world.admins[name] = people.admin(session, resolved, password=False)
        world.tokens[name] = people.api_token(session, resolved, name=name)
    session.flush()
    world.central["sso_rule"] = rule
    if with_policy:
        _policy(session, world)
    return world


def _policy(session: Session, world: World) -> None:
    """Version 1 of every layer the policy endpoints address, and a key central IT locked."""
    from app.services import policy
    from app.services.pki import certificate_authority
    from profiles import Change
    from tests.support.pki import shared_ca

    if certificate_authority.active_record(session) is None:
        certificate_authority.import_ca(session, system_principal(), shared_ca().certificate_pem(), shared_ca().key_pem())
    policy.change(session, system_principal(), "baseline", [Change.set("restrictions", "allowCamera", False, lock=True)])
    for side in (OWN, OTHER):
        for variant in ("school", "group", "device"):
            layer = LAYER_VARIANTS[variant](world, side)
            policy.change(session, system_principal(), layer, [Change.set("passcode", "minLength", 6)])


def _approval(session: Session, school: School, device) -> ApprovalRequest:
    import datetime as dt

    request = ApprovalRequest(
        school_id=school.id, request_type="EraseDevice", params={}, device_ids=[device.id], device_count=1,
        reason="lost in the lake", kind="destructive", status="pending", requested_by="admin:requester",
        requester_kind="admin", requester_id=None, expires_at=utcnow() + dt.timedelta(hours=5),
    )
    session.add(request)
    session.flush()
    return request


def principal_of(world: World, role: str) -> Principal:
    grants = tuple(Grant(r, None if side is None else world.schools[side].id) for r, side in ROLES[role])
    return Principal("admin", 0, role, grants)


# ------------------------------------------------- URL arguments and samples

#: URL argument → (object kind or "central:<name>" or "school_code").
URL_ARGUMENTS = {
    "code": "school_code",
    "group_id": "group",
    "device_id": "device",
    "enrollment_token_id": "enrollment_token",
    "command_id": "command",
    "approval_id": "approval",
    "admin_id": "central:admin",
    "grant_id": "central:grant",
    "api_token_id": "central:api_token",
    "rule_id": "central:sso_rule",
    "layer": "policy_layer",
    "number": "policy_version",
}

#: The policy layers a ``layer`` argument names; each endpoint with one is checked for every kind.
#: The baseline belongs to no school: everyone who sees a school reads it, only central IT changes it.
LAYER_VARIANTS = {
    "baseline": lambda w, s: "baseline",
    "school": lambda w, s: f"school:{w.school(s).code}",
    "group": lambda w, s: f"group:{w.school(s).code}/{w.objects[('group', s)].name}",
    "device": lambda w, s: f"device:{w.objects[('device', s)].serial_number}",
}
SCHOOLLESS_VARIANTS = {"baseline"}
#: Every layer in the world has this version (restore).
POLICY_VERSION = 1


def variants_of(endpoint: str) -> list[str | None]:
    rule = next(r for r in _url_map_app().url_map.iter_rules() if r.endpoint == endpoint)
    return list(LAYER_VARIANTS) if "layer" in rule.arguments else [None]


def rule_for(rule, method: str, variant: str | None):
    """Changing the baseline (or restoring it) is central IT's: the service requires ADMINISTER over every school."""
    if variant in SCHOOLLESS_VARIANTS and method != "GET":
        return AccessRule(ADMIN, Permission.ADMINISTER, central=True)
    return rule


def url_value(world: World, argument: str, side: str, variant: str | None = None) -> Any:
    kind = URL_ARGUMENTS[argument]
    if kind == "policy_layer":
        return LAYER_VARIANTS[variant](world, side)
    if kind == "policy_version":
        return POLICY_VERSION
    if kind == "school_code":
        return world.school(side).code
    if kind.startswith("central:"):
        return world.central[kind.split(":", 1)[1]].id
    return world.id(kind, side)


@dataclass(frozen=True)
class Sample:
    """How to call an endpoint: a JSON body, form fields or a query; ``school``: it names the side's school."""

    json: Any = None
    form: dict[str, Any] | None = None
    query: dict[str, Any] | None = None
    school: bool = False


def _new() -> str:
    return f"n{next(_unique)}"


SAMPLES = {
    ("api.create_school", "POST"): lambda w, s: Sample(json={"name": "Ny skole", "code": _new()}),
    ("api.create_group", "POST"): lambda w, s: Sample(json={"school": w.school(s).code, "name": _new()}, school=True),
    ("api.delete_group", "DELETE"): lambda w, s: Sample(),
    ("api.move_device", "PUT"): lambda w, s: Sample(json={"group_id": None}),
    ("api.submit_command", "POST"): lambda w, s: Sample(
        json={"request_type": "ProfileList", "device_ids": [w.id("device", s)]}, school=True
    ),
    ("api.approve", "POST"): lambda w, s: Sample(json={}),
    ("api.remove_device", "POST"): lambda w, s: Sample(json={"reason": "sold at the end of the lease"}),
    ("dashboard.remove_device", "POST"): lambda w, s: Sample(form={"reason": "sold at the end of the lease"}),
    ("api.reject", "POST"): lambda w, s: Sample(json={"note": "not this week"}),
    ("api.create_enrollment_token", "POST"): lambda w, s: Sample(json={"school": w.school(s).code, "expires": "30d"}, school=True),
    ("api.revoke_enrollment_token", "POST"): lambda w, s: Sample(),
    ("api.export_audit", "GET"): lambda w, s: Sample(query={"school": w.school(s).code}, school=True),
    ("api.create_admin", "POST"): lambda w, s: Sample(
        json={"email": f"{_new()}@skole.test", "grants": [{"role": "school_ict", "school": w.school(s).code}]}
    ),
    ("api.add_grant", "POST"): lambda w, s: Sample(json={"role": "auditor", "school": w.school(s).code}),
    ("api.remove_grant", "DELETE"): lambda w, s: Sample(),
    ("api.set_active", "PUT"): lambda w, s: Sample(json={"active": False}),
    ("api.reset_password", "POST"): lambda w, s: Sample(),
    ("api.create_token", "POST"): lambda w, s: Sample(json={"name": "sync", "grants": [{"role": "auditor"}]}),
    ("api.revoke_token", "POST"): lambda w, s: Sample(),
    ("api.create_sso_rule", "POST"): lambda w, s: Sample(
        json={"provider": "entra", "claim_value": _new(), "role": "school_ict", "school": w.school(s).code}
    ),
    ("api.delete_sso_rule", "DELETE"): lambda w, s: Sample(),
    ("dashboard.create_school", "POST"): lambda w, s: Sample(form={"name": "Ny skole", "code": _new()}),
    ("dashboard.create_group", "POST"): lambda w, s: Sample(form={"school": w.school(s).code, "name": _new()}, school=True),
    ("dashboard.delete_group", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.send_group_command", "POST"): lambda w, s: Sample(form={"request_type": "ProfileList"}),
    ("dashboard.move_device", "POST"): lambda w, s: Sample(form={"group_id": ""}),
    ("dashboard.send_command", "POST"): lambda w, s: Sample(form={"request_type": "ProfileList"}),
    ("dashboard.approve", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.reject", "POST"): lambda w, s: Sample(form={"note": "not this week"}),
    ("dashboard.create_token", "POST"): lambda w, s: Sample(form={"school": w.school(s).code, "label": "cart"}, school=True),
    ("dashboard.revoke_token", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.audit_export", "GET"): lambda w, s: Sample(query={"school": w.school(s).code}, school=True),
    ("dashboard.create_admin", "POST"): lambda w, s: Sample(
        form={"email": f"{_new()}@skole.test", "role": "school_ict", "school": w.school(s).code}
    ),
    ("dashboard.add_grant", "POST"): lambda w, s: Sample(form={"role": "auditor", "school": w.school(s).code}),
    ("dashboard.remove_grant", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.set_active", "POST"): lambda w, s: Sample(form={"active": "0"}),
    ("dashboard.reset_password", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.create_api_token", "POST"): lambda w, s: Sample(form={"name": "sync", "role": "auditor"}),
    ("dashboard.revoke_api_token", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.logout", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.create_sso_rule", "POST"): lambda w, s: Sample(
        form={"provider": "feide", "claim_value": _new(), "role": "school_ict", "school": w.school(s).code}
    ),
    ("dashboard.delete_sso_rule", "POST"): lambda w, s: Sample(form={}),
    ("api.change_policy_layer", "POST"): lambda w, s: Sample(
        json={"changes": [{"action": "set", "payload": "passcode", "key": "minLength", "value": 8}]}
    ),
    ("api.restore_policy_layer", "POST"): lambda w, s: Sample(),
    ("dashboard.change_school_policy", "POST"): lambda w, s: Sample(
        form={"payload": "passcode", "key": "minLength", "value": "8", "intent": "save"}
    ),
    ("dashboard.change_baseline_policy", "POST"): lambda w, s: Sample(
        form={"payload": "passcode", "key": "minLength", "value": "8", "intent": "save"}
    ),
    ("dashboard.change_group_policy", "POST"): lambda w, s: Sample(
        form={"payload": "passcode", "key": "minLength", "value": "8", "intent": "save", "note": "7A needs longer"}
    ),
    ("api.set_update_target", "POST"): lambda w, s: Sample(json={"deadline": "2030-10-16T16:00", "dry_run": True}),
    ("dashboard.change_baseline_update", "POST"): lambda w, s: Sample(
        form={"version": "26.1", "deadline": "2030-10-16 16:00", "intent": "save"}
    ),
    ("dashboard.change_school_update", "POST"): lambda w, s: Sample(form={"deadline": "2030-10-23 16:00", "intent": "save"}),
    ("dashboard.restore_school_policy", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.restore_group_policy", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.restore_baseline_policy", "POST"): lambda w, s: Sample(form={}),
}
#: Endpoints whose world needs policy layers with a saved version (and Flokk's CA to sign profiles).
#: Endpoints about the baseline: no URL argument, no school.
SCHOOLLESS_ENDPOINTS = {"dashboard.baseline_policy", "dashboard.change_baseline_policy", "dashboard.restore_baseline_policy"}
POLICY_ENDPOINTS = {"api.device_policy", "dashboard.school_policy", "dashboard.change_school_policy",
                    "dashboard.baseline_policy", "dashboard.change_baseline_policy", "dashboard.restore_baseline_policy",
                    "dashboard.restore_school_policy", "dashboard.group_policy", "dashboard.change_group_policy",
                    "dashboard.restore_group_policy", "dashboard.device_policy"}


def sample_for(endpoint: str, method: str, world: World, side: str) -> Sample:
    maker = SAMPLES.get((endpoint, method))
    if endpoint in SIGNED_IN_POST_ELSEWHERE:
        return Sample(form={})
    if maker is None:
        if method == "GET":
            return Sample()
        pytest.fail(f"{method} {endpoint} has no sample request: add one to SAMPLES in {__file__}")
    return maker(world, side)


# -------------------------------------------------------------- expectations

ALLOWED, FORBIDDEN, HIDDEN, REFUSED = "allowed", "403", "404", "unauthenticated"


def expected(rule, principal: Principal | None, school_id: int | None) -> str:
    if principal is None:
        return REFUSED
    if rule.audience == SIGNED_IN:
        return ALLOWED
    permission = rule.permission
    if rule.central:
        return ALLOWED if principal.can(permission, None) else FORBIDDEN
    if not principal.can_anywhere(permission):
        return FORBIDDEN
    if school_id is None:
        return ALLOWED
    if not principal.can(Permission.VIEW, school_id):
        return HIDDEN
    return ALLOWED if principal.can(permission, school_id) else FORBIDDEN


def outcome(endpoint: str, response) -> str:
    status = response.status_code
    if endpoint.startswith("dashboard."):
        location = response.headers.get("Location", "")
        if status == 302 and "/login" in location and "signed_out" not in location:
            return REFUSED
        if status in (200, 201, 302):
            return ALLOWED
    elif status == 401:
        return REFUSED
    elif status in (200, 201, 202, 204):
        return ALLOWED
    return {403: FORBIDDEN, 404: HIDDEN}.get(status, f"status {status}: {response.get_data(as_text=True)[:300]}")


# --------------------------------------------------------------------- tests


def test_every_endpoint_declares_its_access_rule():
    app = _url_map_app()
    unmarked = sorted(endpoint for endpoint, view in app.view_functions.items() if rule_of(view) is None)
    assert not unmarked, (
        f"endpoints without an access rule: {unmarked}. Decorate each with @requires(...), @signed_in, "
        "@public_endpoint or @device_endpoint from app.http.rules (README, Development)."
    )
    public = {endpoint for endpoint, view in app.view_functions.items() if rule_of(view).audience == PUBLIC}
    assert public <= PUBLIC_ENDPOINTS, f"new public endpoints {sorted(public - PUBLIC_ENDPOINTS)}: review, then list them here"


def test_the_matrix_knows_every_url_argument():
    app = _url_map_app()
    for rule in app.url_map.iter_rules():
        audience = rule_of(app.view_functions[rule.endpoint]).audience
        if audience in (ADMIN, SIGNED_IN):
            unknown = set(rule.arguments) - set(URL_ARGUMENTS)
            assert not unknown, f"{rule.endpoint}: add {sorted(unknown)} to URL_ARGUMENTS so the matrix can fill them"


MATRIX = [
    (endpoint, method, variant)
    for endpoint, method in ENDPOINTS
    if rule_of(_url_map_app().view_functions[endpoint]).audience in (ADMIN, SIGNED_IN)
    for variant in variants_of(endpoint)
]


def cells(roles: list[str]) -> list[tuple[str, str]]:
    """School-scoped roles on both schools; for central roles and anonymous every school is alike, so one."""
    found = []
    for role in roles:
        school_scoped = role != ANONYMOUS and any(side is not None for _, side in ROLES[role])
        found.extend((role, side) for side in ((OWN, OTHER) if school_scoped else (OTHER,)))
    return found


_APPS: dict[str, Any] = {}


@pytest.fixture
def matrix_app(backend, settings, db):
    """One app per backend for the whole matrix: building the url map costs more than the cells."""
    if backend not in _APPS:
        _APPS[backend] = create_app(settings)
        _APPS[backend].config["TESTING"] = True
    flask_app = _APPS[backend]
    flask_app.extensions["flokk"].db = db
    return flask_app


@pytest.mark.parametrize(("endpoint", "method", "variant"), MATRIX, ids=[f"{m} {e}" + (f" {v}" if v else "") for e, m, v in MATRIX])
def test_matrix(endpoint, method, variant, matrix_app, db):
    app = matrix_app
    view = app.view_functions[endpoint]
    rule = rule_for(rule_of(view), method, variant)
    with_policy = variant is not None or endpoint in POLICY_ENDPOINTS
    url_rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and method in r.methods)
    client = app.test_client()
    failures: list[str] = []
    world = None
    roles = [ANONYMOUS, *ROLES]
    if rule.audience == SIGNED_IN and (endpoint in SIGNED_IN_POST_ELSEWHERE):
        roles = [ANONYMOUS]
    for role, side in cells(roles):
        if world is None:
            with db.session() as session:
                world = build_world(session, with_policy=with_policy)
                session.commit()
        sample = sample_for(endpoint, method, world, side)
        arguments = {name: url_value(world, name, side, variant) for name in url_rule.arguments}
        school_id = None
        if any(not URL_ARGUMENTS[name].startswith("central:") for name in url_rule.arguments) or sample.school:
            school_id = world.school(side).id
        if variant in SCHOOLLESS_VARIANTS or endpoint in SCHOOLLESS_ENDPOINTS:
            school_id = None
        principal = None if role == ANONYMOUS else principal_of(world, role)
        want = expected(rule, principal, school_id)
        path = url_rule.build(arguments, append_unknown=False)[1]
        response = _call(client, endpoint, method, path, sample, world, role)
        got = outcome(endpoint, response)
        if got != want:
            failures.append(f"{role:17} {side:5} {method} {path}: expected {want}, got {got}")
        if got == ALLOWED and method != "GET":
            world = None  # the call changed something: the next cell gets a fresh world
    assert not failures, "\n".join(failures)


def _call(client, endpoint: str, method: str, path: str, sample: Sample, world: World, role: str):
    if endpoint.startswith("api."):
        headers = {} if role == ANONYMOUS else people.bearer(world.tokens[role])
        return client.open(path, method=method, headers=headers, json=sample.json, query_string=sample.query)
    people.sign_in(client, None if role == ANONYMOUS else world.admins[role])
    form = None if method == "GET" else {**(sample.form or {}), "csrf_token": people.CSRF}
    return client.open(path, method=method, data=form, query_string=sample.query)


def test_device_endpoints_are_marked_as_such():
    """Endpoints devices call are marked @device_endpoint; none of them is public by accident."""
    app = _url_map_app()
    for endpoint, view in app.view_functions.items():
        if endpoint.split(".")[0] in ("scep", "enroll", "mdm"):
            assert rule_of(view).audience == DEVICE, f"{endpoint} is called by devices: mark it @device_endpoint"
