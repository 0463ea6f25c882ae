"""Every HTTP endpoint × every role × an object of the role's own school and of another school.

Generated from ``app.url_map``: an endpoint added without an access rule, with
URL arguments this test does not know, or (for POST/PUT/DELETE) without a
sample request fails here with a message saying what to add. Each cell expects
what the endpoint's rule and the role's rights say: success (2xx/3xx), 403 for
a missing right on a visible object, 404 for an object of a school the role
cannot see; anonymous callers get 401 (API) or the sign-in page (dashboard).
A role scoped to a class (the teacher) is also checked on another class of its
own school: its own class's group, devices and commands are visible, the rest
of the school is not, and it may send only the commands its role lists.
An endpoint with a policy ``layer`` in its path is checked once per kind of
layer (baseline, school, group, device): the baseline belongs to no school, so
everyone who sees a school may read it and only central IT may change it.
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import tempfile
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
from app.services.fleet.device_removal import REMOVE_DEVICE
from app.services.mdm import commands, enrollment
from tests.support import factories, google_world, people

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
    "api.openapi_document",
    "api.docs_page",
    "api.docs_file",
}
#: Signed-in endpoints whose POST needs knowledge the matrix does not have (tested in test_sign_in).
SIGNED_IN_POST_ELSEWHERE = {"dashboard.change_password"}

OWN, OTHER = "own", "other"
#: Another class of the own school: for roles scoped to a class.
SIBLING = "sibling"
#: A grant's scope: no school (every school), a side's school, or (with CLASS) the side's group only.
CLASS = "class"
ROLES: dict[str, tuple[tuple[Role, str | None] | tuple[Role, str, str], ...]] = {
    "central_admin": ((Role.CENTRAL_ADMIN, None),),
    "central_helpdesk": ((Role.CENTRAL_HELPDESK, None),),
    "school_ict": ((Role.SCHOOL_ICT, OWN),),
    "central_auditor": ((Role.AUDITOR, None),),
    "school_auditor": ((Role.AUDITOR, OWN),),
    "teacher": ((Role.TEACHER, OWN, CLASS),),
}
#: Kinds of object that belong to a group (a class), and so to a class-scoped grant.
GROUPED_KINDS = {"group", "device", "command"}
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


def build_world(session: Session, *, with_policy: bool = False, with_ca: bool = False, with_apps: bool = False,
                with_google: bool = False) -> World:
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
        world.objects[("teacher_device", side)] = factories.device(session, school)
    _sibling_class(session, world)
    _rosters(session, world)
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
        resolved = [_resolve(world, grant) for grant in grants]
        world.admins[name] = people.admin(session, resolved, password=False)
        world.tokens[name] = people.api_token(session, resolved, name=name)
    session.flush()
    world.central["sso_rule"] = rule
    _asm(session, world)
    from app.services import webhooks

    world.central["webhook"] = webhooks.create_webhook(session, system_principal(), name="tickets",
                                                       url="https://tickets.test/flokk", events=["device.enrolled"])[0]
    if with_policy or with_apps:
        _policy(session, world)
    if with_ca:
        _certificate_authority(session)
    if with_apps:
        _apps(session, world)
    if with_google:
        google_world.add_to_world(session, world)
    return world


def _sibling_class(session: Session, world: World) -> None:
    """Another class of the own school with a device and a command; its school-wide objects are the own ones."""
    school = world.schools[OWN]
    world.schools[SIBLING] = school
    group = factories.group(session, school)
    device = factories.device(session, school, group=group)
    world.objects[("group", SIBLING)] = group
    world.objects[("device", SIBLING)] = device
    queued = commands.enqueue(session, system_principal(), [device.id], "ProfileList")
    world.objects[("command", SIBLING)] = session.query(Command).filter_by(uuid=queued.command_uuids[device.id]).one()
    for kind in ("enrollment_token", "approval", "teacher_device"):
        world.objects[(kind, SIBLING)] = world.objects[(kind, OWN)]


def _rosters(session: Session, world: World) -> None:
    """Each side's group is a class with a teacher and a pupil (Classroom endpoints read the roster)."""
    from app.models.rosters import RosterClass, RosterMember

    for side in (OWN, SIBLING, OTHER):
        group = world.objects[("group", side)]
        item = RosterClass(school_id=group.school_id, group_id=group.id, external_id=f"fc:gogroup:m:u:NO1:{group.id}:a:b",
                           source="feide", synced_at=utcnow())
        item.members = [RosterMember(school_id=group.school_id, person_id=f"{who}{group.id}@skole.test", name=who, role=role)
                        for who, role in (("laerer", "teacher"), ("elev", "student"))]
        session.add(item)
    session.flush()


def _resolve(world: World, grant: tuple) -> tuple[Role, int | None] | tuple[Role, int, int]:
    """A ROLES entry as (role, school id[, group id])."""
    role, side, *scope = grant
    if side is None:
        return (role, None)
    if scope == [CLASS]:
        return (role, world.schools[side].id, world.id("group", side))
    return (role, world.schools[side].id)


def _certificate_authority(session: Session) -> None:
    from app.services.pki import certificate_authority
    from tests.support.pki import shared_ca

    if certificate_authority.active_record(session) is None:
        certificate_authority.import_ca(session, system_principal(), shared_ca().certificate_pem(), shared_ca().key_pem())


def _asm(session: Session, world: World) -> None:
    """An ASM token and rule (central), an expected iPad per school, a server token file to import,
    and an escrowed Activation Lock bypass code on each school's device."""
    from app.db import context
    from app.models.asm import AsmRule

    token = factories.asm_token(session)
    world.central["asm_token"] = token
    world.central["asm_token_file"] = factories.asm_token_file(session).decode()
    for side in (OWN, OTHER):
        world.objects[("asm_device", side)] = factories.asm_device(session, token, world.school(side))
        device = world.objects[("device", side)]
        device.activation_lock_bypass_code = context(session).secrets.seal(b"ABCD-EFGH", label="activation-lock-bypass-code")
    if SIBLING in world.schools:  # expected iPads belong to a school, not a class: the sibling's are the own school's
        world.objects[("asm_device", SIBLING)] = world.objects[("asm_device", OWN)]
    rule = AsmRule(field="assigned_by", pattern=f"*@{next(_unique)}.test", school_id=world.schools[OWN].id, created_by="test")
    session.add(rule)
    session.flush()
    world.central["asm_rule"] = rule


def _apps(session: Session, world: World) -> None:
    """An Apps and Books token (from the fake) with one app, which the baseline makes available."""
    from app.services.apps import catalogue, connection, settings

    connection.import_token(session, system_principal(), apple_location())
    catalogue.sync(session, system_principal())
    settings.set_app(session, system_principal(), "baseline", MATRIX_APP, "available")


#: The app the matrix's Apps and Books location owns.
MATRIX_APP = "361304891"
_APPLE: dict[str, Any] = {}


def apple():
    """One fake Apps and Books per test process (apps endpoints need Apple to answer)."""
    if "fake" not in _APPLE:
        from tests.fakes import pki
        from tests.fakes.apps_and_books import FakeAppsAndBooks

        ca = pki.make_ca("Matrix Apps and Books CA")
        server = pki.issue(ca, "localhost", server_names=("127.0.0.1", "localhost"))
        ca_file = Path(tempfile.mkdtemp()) / "ca.pem"
        ca_file.write_bytes(ca.cert_pem)
        fake = FakeAppsAndBooks(server_cert_pem=server.cert_pem, server_key_pem=server.key_pem).start()
        fake.deliver = lambda url, headers, body: 503  # Flokk's test address is not reachable: it polls instead
        _APPLE.update(fake=fake, ca_file=ca_file)
    return _APPLE["fake"]


def apple_location() -> bytes:
    """A new location with the matrix's app; its token file."""
    from tests.fakes.apps_and_books import FakeAsset, make_token

    token = make_token()
    apple().add_asset(apple().add_location(token), FakeAsset(MATRIX_APP, "Numbers", "com.apple.Numbers"))
    return token


def _policy(session: Session, world: World) -> None:
    """Version 1 of every layer the policy endpoints address, and a key central IT locked."""
    from app.services import policy
    from profiles import Change

    _certificate_authority(session)
    policy.change(session, system_principal(), "baseline", [Change.set("restrictions", "allowCamera", False, lock=True)])
    for side in (OWN, OTHER, SIBLING):
        for variant in ("school", "group", "device"):
            if side == SIBLING and variant == "school":
                continue  # the own school's layer
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
    return Principal("admin", 0, role, tuple(Grant(*_resolve(world, grant)) for grant in ROLES[role]))


# ------------------------------------------------- URL arguments and samples

#: URL argument → (object kind or "central:<name>" or "school_code").
URL_ARGUMENTS = {
    "code": "school_code",
    "group_id": "group",
    "device_id": "device",
    "chromebook_id": "chromebook",
    "enrollment_token_id": "enrollment_token",
    "command_id": "command",
    "approval_id": "approval",
    "admin_id": "central:admin",
    "grant_id": "central:grant",
    "api_token_id": "central:api_token",
    "rule_id": "central:sso_rule",
    "asm_token_id": "central:asm_token",
    "asm_device_id": "asm_device",
    "asm_rule_id": "central:asm_rule",
    "webhook_id": "central:webhook",
    "layer": "policy_layer",
    "number": "policy_version",
}
#: Endpoints that sign profiles with Flokk's CA (Apple Classroom).
CA_ENDPOINTS = {"api.install_classroom", "dashboard.install_classroom"}
#: Endpoints that, once the access checks pass, need something the matrix cannot give (a Feide sign-in's
#: own token): a 409 saying so counts as allowed.
PREREQUISITE_ENDPOINTS = {"dashboard.import_classes_from_feide"}

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
    """How to call an endpoint: a JSON body, form fields or a query; ``school``: it names the side's school;
    ``device``: it acts on the side's device (so on its class); ``command``: the command it sends."""

    json: Any = None
    form: dict[str, Any] | None = None
    query: dict[str, Any] | None = None
    school: bool = False
    device: bool = False
    command: str | None = None


def _new() -> str:
    return f"n{next(_unique)}"


SAMPLES = {
    ("api.create_school", "POST"): lambda w, s: Sample(json={"name": "Ny skole", "code": _new()}),
    ("api.create_group", "POST"): lambda w, s: Sample(json={"school": w.school(s).code, "name": _new()}, school=True),
    ("api.delete_group", "DELETE"): lambda w, s: Sample(),
    ("api.move_device", "PUT"): lambda w, s: Sample(json={"group_id": None}),
    ("api.submit_command", "POST"): lambda w, s: Sample(
        json={"request_type": "ProfileList", "device_ids": [w.id("device", s)]}, school=True, device=True,
        command="ProfileList",
    ),
    ("api.approve", "POST"): lambda w, s: Sample(json={}),
    ("api.remove_device", "POST"): lambda w, s: Sample(json={"reason": "sold at the end of the lease"}, command=REMOVE_DEVICE),
    ("dashboard.remove_device", "POST"): lambda w, s: Sample(form={"reason": "sold at the end of the lease"},
                                                            command=REMOVE_DEVICE),
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
    ("api.create_webhook", "POST"): lambda w, s: Sample(
        json={"name": "tickets", "url": "https://tickets.test/hook", "events": ["device.enrolled", "command.failed"]}
    ),
    ("api.delete_webhook", "DELETE"): lambda w, s: Sample(),
    ("dashboard.create_webhook", "POST"): lambda w, s: Sample(
        form={"name": "tickets", "url": "https://tickets.test/hook", "events": "device.enrolled"}
    ),
    ("dashboard.delete_webhook", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.create_school", "POST"): lambda w, s: Sample(form={"name": "Ny skole", "code": _new()}),
    ("dashboard.create_group", "POST"): lambda w, s: Sample(form={"school": w.school(s).code, "name": _new()}, school=True),
    ("dashboard.delete_group", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.send_group_command", "POST"): lambda w, s: Sample(form={"request_type": "ProfileList"}, command="ProfileList"),
    ("dashboard.move_device", "POST"): lambda w, s: Sample(form={"group_id": ""}),
    ("dashboard.send_command", "POST"): lambda w, s: Sample(form={"request_type": "ProfileList"}, command="ProfileList"),
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
    ("api.import_asm_token", "POST"): lambda w, s: Sample(json={"token": w.central["asm_token_file"]}),
    ("api.request_asm_sync", "POST"): lambda w, s: Sample(),
    ("api.change_asm_assignment", "PUT"): lambda w, s: Sample(json={"group": w.objects[("group", s)].name}),
    ("api.assign_asm_devices", "POST"): lambda w, s: Sample(
        json={"serials": [w.objects[("asm_device", s)].serial_number], "school": w.school(s).code}
    ),
    ("api.create_asm_rule", "POST"): lambda w, s: Sample(json={"pattern": "*@nordby.test", "school": w.school(s).code}),
    ("api.delete_asm_rule", "DELETE"): lambda w, s: Sample(),
    ("api.change_asm_settings", "PUT"): lambda w, s: Sample(json={"language": "nb", "skip_setup_items": ["Siri"]}),
    ("api.change_asm_school_profile", "PUT"): lambda w, s: Sample(json={"support_phone": "+47 55 00 00 00"}),
    ("dashboard.asm_import_token", "POST"): lambda w, s: Sample(form={"token_text": w.central["asm_token_file"]}),
    ("dashboard.asm_request_sync", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.asm_change_settings", "POST"): lambda w, s: Sample(form={"language": "nb", "region": "NO"}),
    ("dashboard.asm_add_rule", "POST"): lambda w, s: Sample(form={"pattern": "*@nordby.test", "school": w.school(s).code}),
    ("dashboard.asm_delete_rule", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.asm_assign", "POST"): lambda w, s: Sample(
        form={"serials": w.objects[("asm_device", s)].serial_number, "school": w.school(s).code}
    ),
    ("dashboard.asm_set_assignment", "POST"): lambda w, s: Sample(form={"group": w.objects[("group", s)].name}),
    ("dashboard.asm_change_school_profile", "POST"): lambda w, s: Sample(form={"support_phone": "+47 55 00 00 00"}),
    ("dashboard.device_bypass_code", "POST"): lambda w, s: Sample(form={}),
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
    ("api.link_school_to_feide", "PUT"): lambda w, s: Sample(json={"feide_org_unit": f"fc:org:bergvik.no:unit:NO{_new()}"}),
    ("api.import_roster", "POST"): lambda w, s: Sample(json={"csv": _roster_csv()}),
    ("api.install_classroom", "POST"): lambda w, s: Sample(json={"teacher_device_id": w.id("teacher_device", s)}),
    ("dashboard.import_classes", "POST"): lambda w, s: Sample(form={"roster": _roster_csv()}),
    ("dashboard.import_classes_from_feide", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.link_school_to_feide", "POST"): lambda w, s: Sample(form={"feide_org_unit": f"fc:org:bergvik.no:unit:NO{_new()}"}),
    ("dashboard.install_classroom", "POST"): lambda w, s: Sample(form={"teacher_device_id": str(w.id("teacher_device", s))}),
    ("api.import_apps_token", "POST"): lambda w, s: Sample(json={"token": apple_location().decode()}),
    ("api.sync_apps", "POST"): lambda w, s: Sample(),
    ("api.set_layer_app", "POST"): lambda w, s: Sample(json={"app": MATRIX_APP, "state": "required"}),
    ("dashboard.import_apps_token", "POST"): lambda w, s: Sample(form={"token": (io.BytesIO(apple_location()), "x.vpptoken")}),
    ("dashboard.sync_apps", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.change_baseline_apps", "POST"): lambda w, s: Sample(form={"app": MATRIX_APP, "state": "required", "intent": "save"}),
    ("dashboard.change_school_apps", "POST"): lambda w, s: Sample(form={"app": MATRIX_APP, "state": "required", "intent": "save"}),
    ("dashboard.change_group_apps", "POST"): lambda w, s: Sample(form={"app": MATRIX_APP, "state": "required", "intent": "save"}),
    ("api.connect_google", "POST"): lambda w, s: Sample(
        json={"key": google_world.key(), "admin": google_world.ADMIN, "parent_ou": google_world.PARENT}
    ),
    ("api.map_school_unit", "PUT"): lambda w, s: Sample(json={"ou_path": f"/Skoler/{w.school(s).code}", "create": True}),
    ("api.map_group_unit", "PUT"): lambda w, s: Sample(
        json={"ou_path": f"/Skoler/{w.school(s).code}/{w.objects[('group', s)].name}", "create": True}
    ),
    ("api.request_google_sync", "POST"): lambda w, s: Sample(json={"full": True}),
    ("api.apply_google_policy", "POST"): lambda w, s: Sample(json={"school": w.school(s).code}, school=True),
    ("api.move_chromebook", "PUT"): lambda w, s: Sample(json={"school": w.school(s).code, "group_id": w.id("group", s)}),
    ("dashboard.google_connect", "POST"): lambda w, s: Sample(
        form={"key": json.dumps(google_world.key()), "admin": google_world.ADMIN, "parent_ou": google_world.PARENT}
    ),
    ("dashboard.google_map", "POST"): lambda w, s: Sample(
        form={"school": w.school(s).code, "ou_path": f"/Skoler/{w.school(s).code}", "create": "on"}
    ),
    ("dashboard.google_sync", "POST"): lambda w, s: Sample(form={"full": "on"}),
    ("dashboard.google_apply", "POST"): lambda w, s: Sample(form={}),
    ("dashboard.move_chromebook", "POST"): lambda w, s: Sample(form={"school": w.school(s).code}),
}
#: Endpoints whose world needs an Apps and Books token with an app (from the fake Apple).
APPS_ENDPOINTS = {"api.show_apps_token", "api.sync_apps", "api.set_layer_app", "dashboard.sync_apps",
                  "dashboard.change_baseline_apps", "dashboard.change_school_apps", "dashboard.change_group_apps",
                  "api.list_apps", "dashboard.apps", "dashboard.school_apps", "dashboard.group_apps", "api.device_apps"}
#: Endpoints whose world needs a Google domain (the fake) with the schools' units and Chromebooks.
GOOGLE_ENDPOINTS = {endpoint for endpoint, _ in SAMPLES if "google" in endpoint or "chromebook" in endpoint} | {
    "api.google_status", "api.google_policy", "api.map_school_unit", "api.map_group_unit", "dashboard.google_page"}


def _roster_csv() -> str:
    name = _new()
    return f"group_id,group_name,feide_id,role\nu-{name},Klasse {name},l{name}@skole.test,teacher\nu-{name},Klasse {name},e{name}@skole.test,student\n"
#: Endpoints whose world needs policy layers with a saved version (and Flokk's CA to sign profiles).
#: Endpoints about the baseline: no URL argument, no school.
SCHOOLLESS_ENDPOINTS = {"dashboard.baseline_policy", "dashboard.change_baseline_policy", "dashboard.restore_baseline_policy",
                        "dashboard.change_baseline_apps"}
POLICY_ENDPOINTS = {"api.device_policy", "dashboard.school_policy", "dashboard.change_school_policy",
                    "dashboard.baseline_policy", "dashboard.change_baseline_policy", "dashboard.restore_baseline_policy",
                    "dashboard.restore_school_policy", "dashboard.group_policy", "dashboard.change_group_policy",
                    "dashboard.restore_group_policy", "dashboard.device_policy",
                    # Apps are policy too: the school's settings, beyond a class-scoped grant.
                    "api.device_apps", "api.set_layer_app", "dashboard.school_apps", "dashboard.change_school_apps",
                    "dashboard.group_apps", "dashboard.change_group_apps"}


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


def expected(
    rule, principal: Principal | None, school_id: int | None, group_id: int | None = None, command: str | None = None
) -> str:
    """``group_id``: the class the object belongs to (a group, or a device's or command's), None for school-wide objects."""
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
    if not principal.can(Permission.VIEW, school_id, group_id):
        return HIDDEN
    return ALLOWED if principal.can(permission, school_id, group_id, command=command) else FORBIDDEN


def outcome(endpoint: str, response) -> str:
    status = response.status_code
    if endpoint in PREREQUISITE_ENDPOINTS and status == 409:
        return ALLOWED
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
    """School-scoped roles on both schools, class-scoped ones also on another class of their school;
    for central roles and anonymous every school is alike, so one."""
    found = []
    for role in roles:
        scopes = [] if role == ANONYMOUS else [grant[1:] for grant in ROLES[role]]
        if any(scope[1:] == (CLASS,) for scope in scopes):
            sides: tuple[str, ...] = (OWN, SIBLING, OTHER)
        elif any(scope[0] is not None for scope in scopes):
            sides = (OWN, OTHER)
        else:
            sides = (OTHER,)
        found.extend((role, side) for side in sides)
    return found


_APPS: dict[str, Any] = {}


@pytest.fixture
def settings(settings, monkeypatch, tmp_path_factory):
    """Flokk talks to the fake Apps and Books and the fake Google, trusting both through one
    SSL_CERT_FILE (as it would a proxy's CA)."""
    fake = apple()
    bundle = tmp_path_factory.mktemp("ca") / "fakes.pem"
    bundle.write_bytes(Path(_APPLE["ca_file"]).read_bytes() + Path(google_world.ca_file()).read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return google_world.settings(settings.replace(apps_url=fake.api_url, apps_lookup_url=fake.lookup_url))


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
    with_ca = endpoint in CA_ENDPOINTS
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
                world = build_world(session, with_policy=with_policy, with_ca=with_ca,
                                    with_apps=endpoint in APPS_ENDPOINTS, with_google=endpoint in GOOGLE_ENDPOINTS)
                session.commit()
        sample = sample_for(endpoint, method, world, side)
        arguments = {name: url_value(world, name, side, variant) for name in url_rule.arguments}
        school_id = None
        if any(not URL_ARGUMENTS[name].startswith("central:") for name in url_rule.arguments) or sample.school:
            school_id = world.school(side).id
        if variant in SCHOOLLESS_VARIANTS or endpoint in SCHOOLLESS_ENDPOINTS:
            school_id = None
        principal = None if role == ANONYMOUS else principal_of(world, role)
        want = expected(rule, principal, school_id, group_of_cell(world, url_rule, sample, side, variant), sample.command)
        path = url_rule.build(arguments, append_unknown=False)[1]
        response = _call(client, endpoint, method, path, sample, world, role)
        got = outcome(endpoint, response)
        if got != want:
            failures.append(f"{role:17} {side:5} {method} {path}: expected {want}, got {got}")
        if got == ALLOWED and method != "GET":
            world = None  # the call changed something: the next cell gets a fresh world
    assert not failures, "\n".join(failures)


def group_of_cell(world: World, url_rule, sample: Sample, side: str, variant: str | None) -> int | None:
    """The class the called object is in: of a group, device or command in the path (or the device
    the request acts on); None when the object is the school's (a school, a token, a policy layer)."""
    if variant is not None or url_rule.endpoint in POLICY_ENDPOINTS:
        return None  # policy is the school's settings: a class-scoped grant never reaches it
    kinds = [URL_ARGUMENTS[name] for name in url_rule.arguments]
    if sample.device:
        kinds.append("device")
    for kind in kinds:
        if kind in GROUPED_KINDS:  # the side's command is for the side's device
            return world.id("group", side) if kind == "group" else world.objects[("device", side)].group_id
    return None


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
