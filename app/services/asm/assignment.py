"""Which school (and class) expects each device ASM assigned to Flokk.

Central IT distributes devices before they are unboxed: by rule (a pattern
on an ASM field such as "assigned by" — the person who assigned the device
in ASM, often per school — or the description), by a CSV of serials, or by
hand. Rules only ever fill in devices that have no school yet; a manual or
CSV assignment is never overwritten by a rule. A school's ICT contact picks
the class of their school's expected iPads. A changed school means a new
ADE profile at Apple: the token is marked for the scheduler's next minute.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.models.asm import AsmDevice, AsmRule, AsmToken
from app.models.base import utcnow
from app.models.tenancy import Group, School
from app.services import audit
from app.services.access import Permission, Principal, get_for, require_central
from app.services.fleet.schools import get_school_by_code

#: ASM fields a rule can match, by the name rules use.
RULE_FIELDS = {
    "assigned_by": "device_assigned_by",
    "description": "description",
    "model": "model",
    "color": "color",
    "asset_tag": "asset_tag",
    "serial_number": "serial_number",
}
MAX_CSV_ROWS = 100_000
_BATCH = 1000


class RuleSet:
    """The rules in force, first match by position wins.

    Per token and ASM field the patterns are joined into one regular
    expression whose alternatives keep the rules' order, so a device is
    matched in one pass per field however many schools have rules.
    """

    def __init__(self, rules: Sequence[AsmRule]) -> None:
        self.rules = tuple(rules)
        self._compiled: dict[int, list[tuple[str, re.Pattern[str]]]] = {}

    @classmethod
    def load(cls, session: Session) -> RuleSet:
        return cls(list(session.scalars(select(AsmRule).order_by(AsmRule.position, AsmRule.id))))

    def match(self, values: Mapping[str, str | None], token_id: int) -> AsmRule | None:
        best: int | None = None
        for column, pattern in self._for(token_id):
            value = values.get(column)
            found = pattern.match(value.lower()) if value is not None else None
            if found is not None:
                index = int(found.lastgroup[1:])  # type: ignore[index]
                best = index if best is None else min(best, index)
        return self.rules[best] if best is not None else None

    def _for(self, token_id: int) -> list[tuple[str, re.Pattern[str]]]:
        compiled = self._compiled.get(token_id)
        if compiled is None:
            by_field: dict[str, list[str]] = defaultdict(list)
            for index, rule in enumerate(self.rules):
                if rule.token_id is None or rule.token_id == token_id:
                    by_field[RULE_FIELDS[rule.field]].append(f"(?P<r{index}>{fnmatch.translate(rule.pattern.lower())})")
            compiled = [(column, re.compile("|".join(parts))) for column, parts in by_field.items()]
            self._compiled[token_id] = compiled
        return compiled


# --- rules ------------------------------------------------------------------------------


def add_rule(
    session: Session, principal: Principal, *, field: str, pattern: str, school_code: str, group: str | None = None,
    token_id: int | None = None, position: int = 100,
) -> tuple[AsmRule, int]:
    """A new rule, applied at once to the devices that have no school yet; returns (rule, devices assigned)."""
    require_central(principal)
    if field not in RULE_FIELDS:
        raise InvalidInput(f"a rule matches one of {', '.join(RULE_FIELDS)}, not {field!r}")
    pattern = pattern.strip()
    if not pattern:
        raise InvalidInput("the pattern must not be empty")
    school = get_school_by_code(session, principal, school_code)
    group_row = _group(session, school, group)
    if token_id is not None and session.get(AsmToken, token_id) is None:
        raise NotFound(f"no Apple School Manager token {token_id}")
    rule = AsmRule(field=field, pattern=pattern, school_id=school.id, group_id=group_row.id if group_row else None,
                   token_id=token_id, position=position, created_by=principal.label)
    session.add(rule)
    session.flush()
    assigned = apply_rules(session)
    audit.record(session, principal, "asm.rule_add", school_id=school.id, target=rule,
                 details={"field": field, "pattern": pattern, "group": group, "assigned": assigned})
    return rule, assigned


def list_rules(session: Session, principal: Principal) -> list[AsmRule]:
    require_central(principal, Permission.VIEW)
    return list(session.scalars(select(AsmRule).order_by(AsmRule.position, AsmRule.id)))


def delete_rule(session: Session, principal: Principal, rule_id: int) -> None:
    """Remove a rule; devices it assigned keep their school."""
    require_central(principal)
    rule = session.get(AsmRule, rule_id)
    if rule is None:
        raise NotFound(f"no assignment rule {rule_id}")
    audit.record(session, principal, "asm.rule_delete", school_id=rule.school_id, target=rule,
                 details={"field": rule.field, "pattern": rule.pattern})
    session.delete(rule)


def apply_rules(session: Session, rules: RuleSet | None = None) -> int:
    """Give every device without a school the school of the first rule it matches; returns how many."""
    rules = rules or RuleSet.load(session)
    if not rules.rules:
        return 0
    now = utcnow()
    assigned = 0
    touched_tokens: set[int] = set()
    last_id = 0
    while True:
        rows = session.scalars(
            select(AsmDevice)
            .where(AsmDevice.school_id.is_(None), AsmDevice.deleted_at.is_(None), AsmDevice.id > last_id)
            .order_by(AsmDevice.id).limit(_BATCH)
        ).all()
        if not rows:
            break
        last_id = rows[-1].id
        for row in rows:
            rule = rules.match({column: getattr(row, column) for column in RULE_FIELDS.values()}, row.token_id)
            if rule is not None:
                row.school_id, row.group_id = rule.school_id, rule.group_id
                row.assigned_via, row.assigned_at = f"rule:{rule.id}", now
                assigned += 1
                touched_tokens.add(row.token_id)
    _request_sync(session, touched_tokens)
    return assigned


# --- by hand and by CSV -------------------------------------------------------------------


def assign(
    session: Session, principal: Principal, serials: Sequence[str], school_code: str | None, group: str | None = None,
    *, via: str = "manual",
) -> int:
    """Expect these serials at a school (None: at no school); all or nothing. Central IT only."""
    require_central(principal)
    wanted = list(dict.fromkeys(serial.strip().upper() for serial in serials if serial.strip()))
    if not wanted:
        raise InvalidInput("no serial numbers given")
    school = get_school_by_code(session, principal, school_code) if school_code else None
    if school is None and group:
        raise InvalidInput("a class needs a school")
    group_row = _group(session, school, group) if school else None
    rows = _by_serial(session, wanted)
    missing = [serial for serial in wanted if serial not in rows]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise NotFound(f"Apple School Manager has not assigned {missing[0]}{more} to Flokk (run `flokk asm sync`?)")
    now = utcnow()
    moved = defaultdict(int)
    for row in rows.values():
        moved[row.school_id] += 1
        row.school_id = school.id if school else None
        row.group_id = group_row.id if group_row else None
        row.assigned_via, row.assigned_at = f"{via}:{principal.label}", now
    _request_sync(session, {row.token_id for row in rows.values()})
    audit.record(
        session, principal, "asm.assign", school_id=school.id if school else None,
        target=("asm_devices", len(rows)),
        details={"serials": wanted[:50], "count": len(wanted), "group": group, "via": via,
                 "from_schools": {str(key): value for key, value in moved.items()}},
    )
    return len(rows)


def assign_csv(session: Session, principal: Principal, text: str) -> int:
    """Rows of ``serial,school[,class]`` (a header row is allowed); every row is checked before any is applied."""
    require_central(principal)
    groups: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text))
    for number, row in enumerate(reader, start=1):
        if number > MAX_CSV_ROWS:
            raise InvalidInput(f"the CSV has more than {MAX_CSV_ROWS} rows")
        cells = [cell.strip() for cell in row]
        if not any(cells) or (number == 1 and cells[0].lower() in ("serial", "serial_number", "serienummer")):
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            problems.append(f"line {number}: expected serial,school[,class]")
            continue
        groups[(cells[1].lower(), cells[2] if len(cells) > 2 and cells[2] else None)].append(cells[0])
    if problems:
        raise InvalidInput("the CSV has problems", details={"csv": problems[:20]})
    if not groups:
        raise InvalidInput("the CSV has no rows")
    return sum(assign(session, principal, serials, school, group, via="csv") for (school, group), serials in groups.items())


def set_group(session: Session, principal: Principal, asm_device_id: int, group: str | None) -> AsmDevice:
    """The class an expected iPad joins when it enrols (the school's ICT contact or central IT)."""
    row = get_for(session, AsmDevice, asm_device_id, principal, Permission.MANAGE)
    assert row.school is not None  # get_for only finds devices of a school the principal sees
    group_row = _group(session, row.school, group)
    row.group_id = group_row.id if group_row else None
    audit.record(session, principal, "asm.set_group", school_id=row.school_id, target=row,
                 details={"serial": row.serial_number, "group": group})
    return row


def change(session: Session, principal: Principal, asm_device_id: int, changes: Mapping[str, str | None]) -> AsmDevice:
    """The API's assignment change: another school is central IT's; the class is the school's own."""
    row = get_for(session, AsmDevice, asm_device_id, principal, Permission.VIEW)
    if "school" in changes and (changes["school"] or None) != (row.school.code if row.school else None):
        assign(session, principal, [row.serial_number], changes["school"], changes.get("group"))
        session.refresh(row)
        return row
    return set_group(session, principal, asm_device_id, changes.get("group"))


# --- helpers -------------------------------------------------------------------------------


def _group(session: Session, school: School | None, name: str | None) -> Group | None:
    if not name:
        return None
    assert school is not None
    found = session.scalar(select(Group).where(Group.school_id == school.id, Group.name == name))
    if found is None:
        raise NotFound(f"no class {name!r} at {school.code}")
    return found


def _by_serial(session: Session, serials: Iterable[str]) -> dict[str, AsmDevice]:
    found: dict[str, AsmDevice] = {}
    wanted = list(serials)
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start : start + _BATCH]
        for row in session.scalars(select(AsmDevice).where(AsmDevice.serial_number.in_(chunk))):
            found[row.serial_number] = row
    return found


def _request_sync(session: Session, token_ids: set[int]) -> None:
    """The changed expectations go to Apple (new ADE profiles) at the scheduler's next minute."""
    if token_ids:
        session.execute(
            update(AsmToken).where(AsmToken.id.in_(sorted(token_ids))).values(sync_requested_at=utcnow())
            .execution_options(synchronize_session=False)
        )
