"""Chrome policy per organisational unit, from the same layers as the iPads' profiles.

Each managed unit gets the Chrome policy values compiled from its layers
(``profiles.compile.chrome``): the parent unit the baseline's, a school's
unit the school's, a group's unit the group's. A value equal to the one of
the unit above is *inherited* (``batchInherit``), not copied; so a key
central IT locked is set once, at the parent unit, and the schools' units
follow it, exactly as the lock holds for iPads. A value that differs is set
at the unit (``batchModify``); a value Flokk set and no longer wants is
cleared (``batchInherit``). Wi-Fi networks are defined where they first
appear (``networks.defineNetwork``) and changed or removed there.

Only what changed since the last apply is sent (versions per identifier in
``GoogleOrgUnit.applied``). Drift — a value changed in Google's Admin
console — is found by resolving each unit (``policies.resolve``) and
comparing with what Flokk wants; it is recorded and shown, and the next
apply (``force``) puts Flokk's values back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models.base import utcnow
from app.models.google import GoogleOrgUnit
from app.services import audit
from app.services.access import Permission, Principal, require, require_central
from app.services.fleet import schools
from app.services.fleet.schools import get_school_by_code
from app.services.google import client_for, refused, require_connection
from app.services.google.org_units import units
from app.services.policy.situations import cache_for
from mdm_protocol.google import errors
from mdm_protocol.google import policies as requests
from mdm_protocol.google.client import GoogleClient
from profiles.chrome_mapping import MANAGED_SCHEMAS
from profiles.compile import compiler_for
from profiles.compile.chrome import ChromePolicyValue
from profiles.model import DeviceFacts
from profiles.resolve import resolve

INHERITED = "inherit"
NETWORK_SCHEMA = "chrome.networks.wifi.Details"
#: App policies: removed with the namespace's wildcard at the unit that added the app (Google's app samples).
APPS = "chrome.users.apps."
#: Fields Google may keep secret or fill in itself: never compared for drift.
_UNCOMPARED = frozenset({"passphrase"})
#: The namespaces Flokk resolves to find drift.
NAMESPACES = tuple(sorted({schema.rsplit(".", 1)[0] for schema in MANAGED_SCHEMAS}))


@dataclass
class UnitPlan:
    unit: GoogleOrgUnit
    modify: list[ChromePolicyValue] = field(default_factory=list)
    inherit: list[tuple[str, tuple[tuple[str, str], ...]]] = field(default_factory=list)
    define: list[ChromePolicyValue] = field(default_factory=list)
    remove_networks: list[str] = field(default_factory=list)
    #: Identifiers that follow the unit above with nothing to send (an app never added here).
    settled: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    done: bool = False
    error: str | None = None

    @property
    def changes(self) -> int:
        return len(self.modify) + len(self.inherit) + len(self.define) + len(self.remove_networks)

    def describe(self) -> dict[str, Any]:
        return {"ou_path": self.unit.ou_path, "modify": sorted(value.identifier for value in self.modify),
                "inherit": sorted(_identifier(schema, keys) for schema, keys in self.inherit),
                "define_networks": sorted(value.identifier for value in self.define),
                "remove_networks": sorted(self.remove_networks), "notes": self.notes, "error": self.error}


@dataclass
class ApplyReport:
    dry_run: bool
    units: list[UnitPlan] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return sum(plan.changes for plan in self.units)

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "changes": self.changes, "units": [plan.describe() for plan in self.units]}


def _identifier(schema: str, keys: Iterable[tuple[str, str]]) -> str:
    return schema + "".join(f"#{name}={value}" for name, value in keys)


def desired(session: Session, organisation_id: int, rows: Iterable[GoogleOrgUnit]) -> dict[int, dict[str, ChromePolicyValue]]:
    """The Chrome policy values each managed unit should have, by identifier."""
    cache = cache_for(session, organisation_id)
    compiler = compiler_for("chromeos", cache.options)
    found: dict[int, dict[str, ChromePolicyValue]] = {}
    for row in rows:
        facts = DeviceFacts("chromeos", school=str(row.school_id) if row.school_id else "",
                            group=str(row.group_id) if row.group_id else "")
        compiled = compiler.compile(resolve(cache.layers, facts))
        found[row.id] = {value.identifier: value for value in compiled.artifacts}  # type: ignore[attr-defined]
    return found


def _above(row: GoogleOrgUnit, rows: list[GoogleOrgUnit]) -> list[GoogleOrgUnit]:
    """The managed units above ``row``, nearest first."""
    parent = next(item for item in rows if item.school_id is None)
    if row.school_id is None:
        return []
    if row.group_id is None:
        return [parent]
    school = next((item for item in rows if item.school_id == row.school_id and item.group_id is None), None)
    return [school, parent] if school is not None else [parent]


def plan(rows: list[GoogleOrgUnit], wanted: Mapping[int, Mapping[str, ChromePolicyValue]], *, force: bool = False) -> list[UnitPlan]:
    """What to send to each unit: pure, parents first."""
    plans = []
    ordered = sorted(rows, key=lambda item: (item.school_id is not None, item.group_id is not None, item.ou_path))
    for row in ordered:
        mine = wanted[row.id]
        above = _above(row, ordered)
        inherited = dict(wanted[above[0].id]) if above else {}
        applied = dict(row.applied or {}) if not force else {}
        result = UnitPlan(row)
        for identifier, value in sorted(mine.items()):
            if value.schema == NETWORK_SCHEMA:
                _plan_network(result, row, above, identifier, value, inherited, applied)
            elif identifier in inherited and inherited[identifier].version == value.version:
                if value.schema.startswith(APPS) and applied.get(identifier) in (None, INHERITED):
                    result.settled.append(identifier)  # Google removes an app only where it was added
                elif applied.get(identifier) != INHERITED:
                    result.inherit.append((value.schema, value.target_keys))
            elif applied.get(identifier) != value.version:
                result.modify.append(value)
        for identifier, version in sorted((row.applied or {}).items()):
            if identifier in mine:
                continue
            schema, keys = _parse_identifier(identifier)
            if schema == NETWORK_SCHEMA:
                continue  # networks are removed below
            if version == INHERITED and not force:
                continue
            if row.school_id is None and row.ou_path == "/":
                result.notes.append(f"{identifier}: Google cannot clear a value at the root unit; change it in the Admin console")
            else:
                result.inherit.append((schema, keys))
        for instance in sorted(row.networks or {}):
            if _identifier(NETWORK_SCHEMA, (("network_id", instance),)) not in mine:
                result.remove_networks.append(instance)
        plans.append(result)
    return plans


def _plan_network(result: UnitPlan, row: GoogleOrgUnit, above: list[GoogleOrgUnit], identifier: str,
                  value: ChromePolicyValue, inherited: Mapping[str, ChromePolicyValue], applied: Mapping[str, str]) -> None:
    """A network defined above with the same settings is inherited; one first seen here is defined here."""
    instance = dict(value.target_keys)["network_id"]
    if identifier in inherited and inherited[identifier].version == value.version:
        if instance in (row.networks or {}):
            result.remove_networks.append(instance)  # an older copy of our own, now the same as above
        return
    if instance in (row.networks or {}) or any(instance in (unit.networks or {}) for unit in above):
        if applied.get(identifier) != value.version:
            result.modify.append(value)
        return
    result.define.append(value)


def _parse_identifier(identifier: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    schema, *rest = identifier.split("#")
    return schema, tuple(tuple(part.split("=", 1)) for part in rest)  # type: ignore[misc]


def _network_id(instance: str, row: GoogleOrgUnit, above: list[GoogleOrgUnit]) -> str | None:
    for unit in (row, *above):
        if instance in (unit.networks or {}):
            return str(unit.networks[instance])
    return None


def _google_keys(keys: Iterable[tuple[str, str]], row: GoogleOrgUnit, above: list[GoogleOrgUnit]) -> tuple[tuple[str, str], ...]:
    """Flokk's target keys as Google knows them: a network's instance name becomes its network id."""
    found = []
    for name, value in keys:
        if name == "network_id":
            value = _network_id(value, row, above) or value
        found.append((name, value))
    return tuple(found)


def _send(client: GoogleClient, unit_plan: UnitPlan, rows: list[GoogleOrgUnit]) -> None:
    row = unit_plan.unit
    above = _above(row, rows)
    networks = dict(row.networks or {})
    for value in unit_plan.define:
        instance = dict(value.target_keys)["network_id"]
        settings = [{"policySchema": NETWORK_SCHEMA, "value": dict(value.value)},
                    {"policySchema": "chrome.networks.wifi.AllowForChromeDevices", "value": {"allowForChromeDevices": True}},
                    {"policySchema": "chrome.networks.wifi.AllowForChromeUsers", "value": {"allowForChromeUsers": True}}]
        networks[instance] = client.define_network(row.ou_id, f"Flokk {instance}", settings)
        row.networks = dict(networks)
    modify = [requests.modify_request(row.ou_id, value.schema, value.value, _google_keys(value.target_keys, row, above))
              for value in unit_plan.modify]
    for batch in requests.batches(modify):
        client.batch_modify(batch)
    inherit = [requests.inherit_request(row.ou_id, APPS + "*" if schema.startswith(APPS) else schema, _google_keys(keys, row, above))
               for schema, keys in unit_plan.inherit]
    for batch in requests.batches(inherit):
        client.batch_inherit(batch)
    for instance in unit_plan.remove_networks:
        client.remove_network(row.ou_id, str(networks.pop(instance)))
    row.networks = networks


def _record(unit_plan: UnitPlan, wanted: Mapping[str, ChromePolicyValue]) -> None:
    row = unit_plan.unit
    applied = {key: version for key, version in (row.applied or {}).items() if key in wanted}
    for value in (*unit_plan.modify, *unit_plan.define):
        applied[value.identifier] = value.version
    inherited = [_identifier(schema, keys) for schema, keys in unit_plan.inherit] + unit_plan.settled
    for identifier in inherited:
        if identifier in wanted:
            applied[identifier] = INHERITED
    row.applied, row.applied_at, row.policy_error = applied, utcnow(), None


def _selected(session: Session, principal: Principal, organisation_id: int, school: str | None) -> tuple[list[GoogleOrgUnit], list[GoogleOrgUnit]]:
    rows = units(session, organisation_id)
    if not any(row.school_id is None for row in rows):
        raise InvalidInput("the Google connection has no parent organisational unit; connect again")
    if school is None:
        require_central(principal, Permission.MANAGE)
        return rows, rows
    found = get_school_by_code(session, principal, school)
    require(principal, Permission.MANAGE, found.id)
    return rows, [row for row in rows if row.school_id == found.id]


def apply(
    session: Session,
    principal: Principal,
    *,
    school: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    organisation: str | None = None,
) -> ApplyReport:
    """Bring the units (of one school) in line with the policy; then read back drift."""
    organisation_id = schools.organisation_for(session, organisation).id if school is None else \
        get_school_by_code(session, principal, school).organisation_id
    connection = require_connection(session, organisation_id)
    rows, selected = _selected(session, principal, organisation_id, school)
    wanted = desired(session, organisation_id, rows)
    plans = [item for item in plan(rows, wanted, force=force) if item.unit in selected]
    report = ApplyReport(dry_run=dry_run, units=plans)
    if dry_run:
        return report
    client = client_for(session, connection)
    for unit_plan in plans:
        try:
            _send(client, unit_plan, rows)
        except errors.GoogleError as error:
            unit_plan.error = error.message
            unit_plan.unit.policy_error = f"{utcnow():%Y-%m-%d %H:%M} UTC: {error.message}"[:2000]
            audit.record(session, principal, "google.policy.apply", outcome=audit.FAILURE, school_id=unit_plan.unit.school_id,
                         target=("google_org_unit", unit_plan.unit.ou_path), details=unit_plan.describe())
            if error.retryable:
                raise refused(error, f"applying Chrome policy to {unit_plan.unit.ou_path}") from None
            continue
        unit_plan.done = True
        _record(unit_plan, wanted[unit_plan.unit.id])
        if unit_plan.changes:
            audit.record(session, principal, "google.policy.apply", school_id=unit_plan.unit.school_id,
                         target=("google_org_unit", unit_plan.unit.ou_path), details=unit_plan.describe())
    check_drift(session, client, rows, wanted, only=selected)
    return report


# ------------------------------------------------------------------ drift


def check_drift(session: Session, client: GoogleClient, rows: list[GoogleOrgUnit],
                wanted: Mapping[int, Mapping[str, ChromePolicyValue]], *, only: list[GoogleOrgUnit] | None = None) -> int:
    """Resolve each unit and record where Google's values differ from Flokk's; the number of differences."""
    total = 0
    for row in only if only is not None else rows:
        try:
            resolved = [item for namespace in NAMESPACES for item in client.resolve(row.ou_id, f"{namespace}.*")]
        except errors.GoogleError as error:
            row.policy_error = f"{utcnow():%Y-%m-%d %H:%M} UTC: resolving: {error.message}"[:2000]
            if error.retryable:
                raise refused(error, f"reading Chrome policy of {row.ou_path}") from None
            continue
        drift = differences(row, _above(row, rows), wanted[row.id], resolved, {unit.ou_id: unit.ou_path for unit in rows})
        if drift and drift != (row.drift or []):
            audit.record(session, "system:google", "google.policy.drift", school_id=row.school_id,
                         target=("google_org_unit", row.ou_path), details={"drift": drift[:50]})
        row.drift, row.resolved_at = drift, utcnow()
        total += len(drift)
    return total


def differences(row: GoogleOrgUnit, above: list[GoogleOrgUnit], wanted: Mapping[str, ChromePolicyValue],
                resolved: Iterable[Mapping[str, Any]], paths: Mapping[str, str]) -> list[dict[str, Any]]:
    """What Google resolves at a unit against what Flokk wants there (pure)."""
    networks = {}
    for unit in (row, *above):
        for instance, network_id in (unit.networks or {}).items():
            networks.setdefault(str(network_id), instance)
    actual: dict[str, tuple[dict[str, Any], str]] = {}
    for item in resolved:
        value = item.get("value") or {}
        schema = value.get("policySchema")
        if schema not in MANAGED_SCHEMAS:
            continue
        keys = dict((item.get("targetKey") or {}).get("additionalTargetKeys") or {})
        if "network_id" in keys:
            if keys["network_id"] not in networks:
                continue  # a network Flokk does not manage
            keys["network_id"] = networks[keys["network_id"]]
        source = str((item.get("sourceKey") or {}).get("targetResource") or "").removeprefix("orgunits/")
        actual[_identifier(schema, sorted(keys.items()))] = (dict(value.get("value") or {}), source)
    found = []
    for identifier, value in sorted(wanted.items()):
        got = actual.get(identifier)
        if got is None:
            found.append({"identifier": identifier, "kind": "missing", "expected": _shown(value.value)})
            continue
        fields = {name for name in value.value if name not in _UNCOMPARED}
        if not _same(value.value, got[0], fields):
            found.append({"identifier": identifier, "kind": "changed", "expected": _shown(value.value),
                          "actual": _shown({name: got[0].get(name) for name in value.value}),
                          "set_at": paths.get(got[1], got[1] or "Google's default")})
    for identifier, (value, source) in sorted(actual.items()):
        if identifier not in wanted and source == row.ou_id:
            found.append({"identifier": identifier, "kind": "extra", "actual": _shown(value), "set_at": row.ou_path})
    return found


def _same(expected: Mapping[str, Any], actual: Mapping[str, Any], fields: Iterable[str]) -> bool:
    for name in fields:
        want, got = expected.get(name), actual.get(name)
        if isinstance(want, Mapping) and isinstance(got, Mapping):
            if not _same(want, got, [key for key in want if key not in _UNCOMPARED]):
                return False
        elif want != got:
            return False
    return True


def _shown(value: Mapping[str, Any]) -> dict[str, Any]:
    """A value for the drift record, with secrets masked."""
    shown = {}
    for name, item in value.items():
        if name in _UNCOMPARED:
            shown[name] = "********"
        elif isinstance(item, Mapping):
            shown[name] = _shown(item)
        else:
            shown[name] = item
    return shown


def policy_units(session: Session, principal: Principal, *, organisation: str | None = None) -> list[GoogleOrgUnit]:
    """Every managed unit with what was applied and the drift found (central IT)."""
    require_central(principal, Permission.VIEW)
    return sorted(units(session, schools.organisation_for(session, organisation).id), key=lambda row: row.ou_path.lower())
