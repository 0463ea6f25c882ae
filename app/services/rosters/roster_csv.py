"""The class export a school's administrative system produces: one line per member of a teaching group.

Columns (a header line first; comma or semicolon; UTF-8, with or without BOM):
``group_id`` (the teaching group's id), ``group_name`` (the class's name in
Flokk, at most 100 characters), ``feide_id`` (the member's Feide id,
``ola@bergvik.kommune.no``), ``member_name`` (optional) and ``role``
(``teacher`` or ``student``; ``faculty``, ``lærer`` and ``elev`` are read too).
Parsing is all or nothing: every problem is reported with its line number
(unknown or missing columns, a member listed twice, a group named two ways,
two groups with one name, over-long values, NUL and other control characters)
and nothing is imported when there is one.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.errors import InvalidInput

COLUMNS = ("group_id", "group_name", "feide_id", "member_name", "role")
REQUIRED = frozenset({"group_id", "group_name", "feide_id", "role"})
LIMITS = {"group_id": 255, "group_name": 100, "feide_id": 255, "member_name": 200, "role": 16}
ROLES = {"teacher": "teacher", "faculty": "teacher", "lærer": "teacher", "laerer": "teacher",
         "student": "student", "elev": "student", "pupil": "student"}
TEACHER, STUDENT = "teacher", "student"
MAX_ERRORS = 50
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FEIDE_ID = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")


@dataclass(frozen=True)
class Person:
    person_id: str
    name: str
    role: str


@dataclass(frozen=True)
class RosterGroup:
    """A teaching group and its members, as an export or Feide lists it."""

    external_id: str
    name: str
    members: tuple[Person, ...]
    line: int | None = None


class RosterFileError(InvalidInput):
    """The export cannot be imported; ``details`` names each bad line."""


def parse(data: bytes | str) -> list[RosterGroup]:
    """The groups of an export, or RosterFileError naming every bad line (nothing is imported then)."""
    text = _text(data)
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise RosterFileError("nothing was imported: the roster file is empty", details={"line 1": ["The file has no header line."]})
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems: dict[str, list[str]] = {}
    try:
        rows = list(reader)
    except csv.Error as error:
        raise RosterFileError("nothing was imported: the roster file is not valid CSV",
                              details={f"line {reader.line_num}": [str(error)]}) from None
    header = [name.strip().lower() for name in rows[0]]
    _check_header(header, problems)
    if problems:
        raise _error(problems)
    groups: dict[str, dict] = {}
    names: dict[str, tuple[str, int]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(field.strip() for field in row):
            continue
        if len(row) != len(header):
            _add(problems, number, f"{len(row)} fields, but the header has {len(header)}")
            continue
        values = dict(zip(header, (field.strip() for field in row), strict=True))
        if not _check_values(values, number, problems):
            continue
        role = ROLES[values["role"].lower()]
        group = groups.setdefault(values["group_id"], {"name": values["group_name"], "line": number, "members": {}})
        if group["name"] != values["group_name"]:
            _add(problems, number, f"group {values['group_id']!r} is named {values['group_name']!r} here "
                                   f"but {group['name']!r} on line {group['line']}")
            continue
        owner = names.setdefault(values["group_name"].casefold(), (values["group_id"], number))
        if owner[0] != values["group_id"]:
            _add(problems, number, f"the name {values['group_name']!r} is used by group {owner[0]!r} on line {owner[1]} "
                                   f"too; class names must differ within a school")
            continue
        person_id = values["feide_id"].lower()
        if person_id in group["members"]:
            _add(problems, number, f"{person_id} is listed twice in group {values['group_id']!r} "
                                   f"(first on line {group['members'][person_id][1]})")
            continue
        group["members"][person_id] = (Person(person_id, values.get("member_name") or person_id, role), number)
        if len(problems) >= MAX_ERRORS:
            break
    if problems:
        raise _error(problems)
    if not groups:
        raise RosterFileError("nothing was imported: the roster file has a header but no members",
                              details={"line 2": ["No member lines."]})
    return [
        RosterGroup(external_id, group["name"], tuple(person for person, _ in group["members"].values()), group["line"])
        for external_id, group in groups.items()
    ]


def _text(data: bytes | str) -> str:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise RosterFileError("nothing was imported: the roster file is not UTF-8 text",
                                  details={f"line {line}": ["Not UTF-8: save the export as UTF-8 (CSV UTF-8)."]}) from None
    return data.removeprefix("\ufeff")


def _check_header(header: Sequence[str], problems: dict[str, list[str]]) -> None:
    for name in header:
        if name not in COLUMNS:
            shown = name if len(name) <= 40 and not _CONTROL.search(name) else repr(name[:40]) + "…"
            _add(problems, 1, f"unknown column {shown!r}; the columns are {', '.join(COLUMNS)}")
        elif header.count(name) > 1:
            _add(problems, 1, f"column {name!r} appears more than once")
    missing = sorted(REQUIRED - set(header))
    if missing:
        _add(problems, 1, f"missing column(s) {', '.join(missing)}")


def _check_values(values: dict[str, str], number: int, problems: dict[str, list[str]]) -> bool:
    fine = True
    for column, value in values.items():
        if _CONTROL.search(value):
            _add(problems, number, f"{column} holds a control character (such as NUL)")
            fine = False
        elif len(value) > LIMITS[column]:
            _add(problems, number, f"{column} is {len(value)} characters long (at most {LIMITS[column]})")
            fine = False
        elif column in REQUIRED and not value:
            _add(problems, number, f"{column} is empty")
            fine = False
    if not fine:
        return False
    if values["role"].lower() not in ROLES:
        _add(problems, number, f"role {values['role']!r} is neither teacher nor student")
        return False
    if not _FEIDE_ID.match(values["feide_id"]):
        _add(problems, number, f"feide_id {values['feide_id']!r} is not a Feide id (name@organisation.no)")
        return False
    return True


def _add(problems: dict[str, list[str]], line: int, message: str) -> None:
    problems.setdefault(f"line {line}", []).append(message)


def _error(problems: dict[str, list[str]]) -> RosterFileError:
    count = sum(len(items) for items in problems.values())
    return RosterFileError(f"nothing was imported: the roster file has {count} problem(s)", details=problems)
