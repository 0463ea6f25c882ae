"""Classes from teaching groups: a school's export of 30 groups imported, a teacher scoped to their class,
the class's Apple Classroom payload, and bad exports refused line by line with nothing half-imported."""

from __future__ import annotations

import os
import plistlib

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy import func, select

from app.models import Command, Device, Group, RoleGrant, RosterClass, RosterMember, School, SchoolRoster
from app.services.access import Role, system_principal
from app.services.pki import certificate_authority
from profiles.compile.apple import validate_profile
from tests.support import factories, people
from tests.support.pki import shared_ca

HEADER = "group_id,group_name,feide_id,member_name,role\n"


def export(groups: int = 30, pupils: int = 25, *, teacher_of: dict[int, str] | None = None) -> str:
    """A school's export: ``groups`` teaching groups, each with a teacher (or the one given) and pupils."""
    lines = [HEADER]
    for number in range(1, groups + 1):
        group_id = f"fc:gogroup:bergvik.kommune.no:u:NO975278964:{number:02d}-matte:2026-08-01:2027-06-30"
        teacher = (teacher_of or {}).get(number, f"laerer{number}@bergvik.kommune.no")
        lines.append(f"{group_id},Matte {number:02d},{teacher},Lærer {number},teacher\n")
        lines.extend(f"{group_id},Matte {number:02d},elev{number}-{pupil}@bergvik.kommune.no,Elev {pupil},student\n"
                     for pupil in range(pupils))
    return "".join(lines)


@pytest.fixture
def world(db):
    with db.session() as session:
        nordby, sorby = factories.school(session, "nordby"), factories.school(session, "sorby")
        ict = people.api_token(session, [(Role.SCHOOL_ICT, nordby.id)], name="nordby-ict")
        other_ict = people.api_token(session, [(Role.SCHOOL_ICT, sorby.id)], name="sorby-ict")
        central = people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="central")
        certificate_authority.import_ca(session, system_principal(), shared_ca().certificate_pem(), shared_ca().key_pem())
        session.commit()
        return {"nordby": nordby.id, "sorby": sorby.id, "ict": ict, "other_ict": other_ict, "central": central}


def import_export(client, token: str, text: str, school: str = "nordby"):
    return client.post(f"/api/v1/schools/{school}/roster/import", headers=people.bearer(token), json={"csv": text})


def counts(db) -> tuple[int, int, int]:
    with db.session() as session:
        return (session.scalar(select(func.count()).select_from(Group)),
                session.scalar(select(func.count()).select_from(RosterClass)),
                session.scalar(select(func.count()).select_from(RosterMember)))


def test_a_school_with_30_teaching_groups_is_imported(client, db, world):
    response = import_export(client, world["ict"], export())
    assert response.status_code == 200, response.get_json()
    assert response.get_json() | {"summary": None} == {"classes": 30, "created": 30, "changed": 0, "unchanged": 0,
                                                       "ended": 0, "members": 30 * 26, "summary": None}
    assert counts(db) == (30, 30, 30 * 26)
    with db.session() as session:
        names = sorted(session.scalars(select(Group.name).where(Group.school_id == world["nordby"], Group.kind == "class")))
        assert names == [f"Matte {number:02d}" for number in range(1, 31)]
        link = session.scalar(select(SchoolRoster))
        assert (link.last_import_source, link.last_import_failed) == ("csv", False)
    again = import_export(client, world["ict"], export())
    assert (again.get_json()["created"], again.get_json()["unchanged"]) == (0, 30)
    assert counts(db) == (30, 30, 30 * 26)
    listed = client.get("/api/v1/schools/nordby/roster", headers=people.bearer(world["ict"])).get_json()
    assert len(listed["classes"]) == 30 and listed["link"]["last_import_source"] == "csv"


def test_another_schools_ict_contact_cannot_import_or_read_it(client, world):
    assert import_export(client, world["other_ict"], export(2)).status_code == 404
    assert client.get("/api/v1/schools/nordby/roster", headers=people.bearer(world["other_ict"])).status_code == 404


def test_a_new_export_ends_teacher_grants_where_the_teacher_changed_and_ends_dropped_classes(client, db, world):
    import_export(client, world["ict"], export(3, 2))
    with db.session() as session:
        groups = {g.name: g for g in session.scalars(select(Group))}
        teacher = people.admin(session, [(Role.TEACHER, world["nordby"], groups["Matte 01"].id),
                                         (Role.TEACHER, world["nordby"], groups["Matte 02"].id)])
        session.commit()
        teacher_id = teacher.id
    response = import_export(client, world["ict"], export(2, 2, teacher_of={1: "vikar@bergvik.kommune.no"}))
    assert response.get_json() | {"summary": None} == {"classes": 2, "created": 0, "changed": 1, "unchanged": 1,
                                                       "ended": 1, "members": 6, "summary": None}
    with db.session() as session:
        left = session.scalars(select(RoleGrant.group_id).where(RoleGrant.admin_user_id == teacher_id)).all()
        assert left == [groups["Matte 02"].id]  # Matte 01 has another teacher now
        assert session.get(Group, groups["Matte 03"].id) is not None  # the group (and its iPads) stays
        assert session.scalar(select(RosterClass).where(RosterClass.group_id == groups["Matte 03"].id)) is None


@pytest.mark.parametrize(("text", "line", "reason"), [
    (HEADER.replace("role", "rolle") + "u1,5A,a@b.no,A,teacher\n", "line 1", "unknown column 'rolle'"),
    ("group_id,group_name,feide_id,role,extra\nu1,5A,a@b.no,teacher,x\n", "line 1", "unknown column 'extra'"),
    (HEADER + "u1,5A,a@b.no,A,teacher\nu1,5A,a@b.no,A,student\n", "line 3", "a@b.no is listed twice in group 'u1' (first on line 2)"),
    (HEADER + "u1,5A,a@b.no,A,teacher\nu2,5A,b@b.no,B,teacher\n", "line 3", "the name '5A' is used by group 'u1' on line 2"),
    (HEADER + "u1,5A,a@b.no,A,teacher\nu1,5B,b@b.no,B,student\n", "line 3", "group 'u1' is named '5B' here but '5A' on line 2"),
    (HEADER + "u1,5A,a@b.no,A,teacher\nu2," + "x" * 10_000 + ",b@b.no,B,student\n", "line 3", "group_name is 10000 characters long (at most 100)"),
    (HEADER + "u1,5A,a@b.no,A,teacher\nu2,5B,b@b.no," + "y" * 10_000 + ",student\n", "line 3", "member_name is 10000 characters long (at most 200)"),
    (HEADER + "u1,5A,a@b.no,A,teacher\nu2,5\x00B,b@b.no,B,student\n", "line 3", "group_name holds a control character"),
    (HEADER + "u1,5A,a@b.no,A,rektor\n", "line 2", "role 'rektor' is neither teacher nor student"),
    (HEADER + "u1,5A,not-a-feide-id,A,teacher\n", "line 2", "is not a Feide id"),
    (HEADER + "u1,5A,a@b.no,A\n", "line 2", "4 fields, but the header has 5"),
])
def test_a_bad_export_is_refused_naming_the_line_and_nothing_is_imported(client, cli, db, world, tmp_path, text, line, reason):
    before = counts(db)
    response = import_export(client, world["ict"], text)
    body = response.get_json()
    assert response.status_code == 422, body
    if "\x00" in text:  # over the API the JSON boundary refuses NUL first, naming the field
        assert body["details"] == {"csv": ["Must not contain NUL characters."]}
    else:
        assert body["message"].startswith("nothing was imported: the roster file has")
        assert any(reason in item for item in body["details"][line]), body["details"]
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode())
    result = cli("roster", "import", "nordby", str(path))
    assert result.exit_code == 1 and f"{line}: " in result.output and reason in result.output, result.output
    assert counts(db) == before


def test_the_cli_names_the_line_of_a_bad_export_and_imports_nothing(cli, db, world, tmp_path):
    path = tmp_path / "nordby.csv"
    path.write_text(export(2) + "fc:x,Ny," + "n" * 300 + "@b.no,N,student\n" + "fc:y,Ny2,a@b.no,A,teacher\x00\n")
    before = counts(db)
    result = cli("roster", "import", "nordby", str(path))
    assert result.exit_code == 1
    assert result.output.startswith("Error: nothing was imported: the roster file has 2 problem(s)")
    assert "line 54: feide_id is 305 characters long (at most 255)" in result.output
    assert "line 55: role holds a control character" in result.output
    assert counts(db) == before
    good = tmp_path / "good.csv"
    good.write_text(export(2, 3))
    assert cli("roster", "import", "nordby", str(good)).output == "Imported nordby: 2 classes (2 new, 0 changed, 0 unchanged, 0 no longer listed), 8 members.\n"


def test_a_class_name_taken_by_another_class_is_refused_before_anything_changes(client, db, world):
    import_export(client, world["ict"], HEADER + "u1,5A,a@b.no,A,teacher\n")
    before = counts(db)
    response = import_export(client, world["ict"], HEADER + "u1,5A,a@b.no,A,teacher\nu2,Ny,b@b.no,B,teacher\n"
                                                            "u3,5a,c@b.no,C,teacher\n")
    assert response.status_code == 422
    assert "5a" in str(response.get_json()["details"]) or "5A" in str(response.get_json()["details"])
    assert counts(db) == before


# ------------------------------------------------------------------------------ the teacher's scope


@pytest.fixture
def classes(client, db, world):
    """Two classes of Nordby with three iPads each, one class of Sorby; a teacher of the first."""
    import_export(client, world["ict"], export(2, 3))
    with db.session() as session:
        nordby, sorby = session.get(School, world["nordby"]), session.get(School, world["sorby"])
        first, second = (session.scalar(select(Group).where(Group.name == name)) for name in ("Matte 01", "Matte 02"))
        elsewhere = factories.group(session, sorby, "Sorby 5A")
        devices = {name: [factories.device(session, school, group=group).id for _ in range(3)]
                   for name, school, group in (("first", nordby, first), ("second", nordby, second), ("sorby", sorby, elsewhere))}
        teacher = people.api_token(session, [(Role.TEACHER, nordby.id, first.id)], name="teacher")
        session.commit()
        return {"first": first.id, "second": second.id, "sorby": elsewhere.id, "devices": devices, "teacher": teacher}


def test_a_teacher_sees_only_their_class_and_sends_only_the_teachers_commands(client, db, world, classes):
    auth = people.bearer(classes["teacher"])
    listed = client.get("/api/v1/devices", headers=auth).get_json()
    assert sorted(item["id"] for item in listed["devices"]) == sorted(classes["devices"]["first"]) and listed["total"] == 3
    assert [g["id"] for g in client.get("/api/v1/groups", headers=auth).get_json()["groups"]] == [classes["first"]]
    own, sibling, elsewhere = (classes["devices"][name][0] for name in ("first", "second", "sorby"))
    assert client.get(f"/api/v1/devices/{own}", headers=auth).status_code == 200
    assert client.get(f"/api/v1/devices/{sibling}", headers=auth).status_code == 404
    assert client.get(f"/api/v1/devices/{elsewhere}", headers=auth).status_code == 404

    def send(request_type, device_ids, **extra):
        return client.post("/api/v1/commands", headers=auth, json={"request_type": request_type, "device_ids": device_ids, **extra})

    assert send("DeviceLock", [own]).status_code == 201
    assert send("DeviceLock", classes["devices"]["first"]).status_code == 201
    assert send("ProfileList", [own]).status_code == 403  # not in the teacher's command set
    assert send("EraseDevice", [own], reason="broken screen").status_code == 403
    assert send("DeviceLock", [sibling]).status_code == 404
    assert send("DeviceLock", [own, sibling]).status_code == 404  # all or nothing
    cleared = send("ClearPasscode", [own], reason="Forgot the code in class")
    assert cleared.status_code == 202 and cleared.get_json()["approval"]["status"] == "pending"
    assert client.post(f"/api/v1/devices/{own}/remove", headers=auth, json={"reason": "lost"}).status_code == 403
    commands = client.get("/api/v1/commands", headers=auth).get_json()["commands"]
    assert commands and {item["device_id"] for item in commands} <= set(classes["devices"]["first"])
    assert client.get("/api/v1/schools", headers=auth).get_json()["schools"] == []
    assert client.get(f"/api/v1/groups/{classes['first']}/classroom", headers=auth).status_code == 200
    assert client.get(f"/api/v1/groups/{classes['second']}/classroom", headers=auth).status_code == 404
    assert client.put(f"/api/v1/devices/{own}/group", headers=auth, json={"group_id": None}).status_code == 403
    assert client.get(f"/api/v1/devices/{own}/policy", headers=auth).status_code == 404  # settings are the school's


def test_teacher_grants_are_not_given_by_hand(client, world):
    central = people.bearer(world["central"])
    created = client.post("/api/v1/admins", headers=central,
                          json={"email": "t@skole.test", "grants": [{"role": "teacher", "school": "nordby"}]})
    assert created.status_code == 422
    rule = client.post("/api/v1/sso-rules", headers=central,
                       json={"provider": "feide", "claim_value": "type:fc:gogroup:u", "role": "teacher"})
    assert rule.status_code == 422 and "affiliation" in rule.get_json()["details"]
    rule = client.post("/api/v1/sso-rules", headers=central,
                       json={"provider": "feide", "claim_value": "type:fc:gogroup:u", "role": "teacher", "affiliation": "faculty"})
    assert rule.status_code == 201 and rule.get_json()["affiliation"] == "faculty"


# ------------------------------------------------------------------------------ Apple Classroom


def _payload(command: Command) -> dict:
    signed = plistlib.loads(command.body)["Command"]["Payload"]
    content = cms.ContentInfo.load(signed)["content"]["encap_content_info"]["content"].native
    return plistlib.loads(content)


def test_the_class_education_payload_fits_apples_schema_and_lists_the_class_ipads(client, db, world, classes):
    with db.session() as session:
        teacher_ipad = factories.device(session, session.get(School, world["nordby"])).id
        session.commit()
    response = client.post(f"/api/v1/groups/{classes['first']}/classroom/install", headers=people.bearer(world["ict"]),
                           json={"teacher_device_id": teacher_ipad})
    assert response.status_code == 202, response.get_json()
    assert sorted(response.get_json()["member_device_ids"]) == sorted(classes["devices"]["first"])
    with db.session() as session:
        serials = {d.id: d.serial_number for d in session.scalars(select(Device))}
        queued = {c.device_id: _payload(c) for c in session.scalars(select(Command).where(Command.request_type == "InstallProfile"))}
        assert set(queued) == {teacher_ipad, *classes["devices"]["first"]}
        for device_id, profile in queued.items():
            assert validate_profile(profile, "ipados") == [], device_id
        leader = next(p for p in queued[teacher_ipad]["PayloadContent"] if p["PayloadType"] == "com.apple.education")
        assert leader["UserIdentifier"] == "laerer1@bergvik.kommune.no"
        assert leader["DeviceGroups"][0]["SerialNumbers"] == sorted(serials[i] for i in classes["devices"]["first"])
        (group,) = leader["Groups"]
        assert group["LeaderIdentifiers"] == ["laerer1@bergvik.kommune.no"]
        assert sorted(group["MemberIdentifiers"]) == sorted(f"elev1-{n}@bergvik.kommune.no" for n in range(3))
        assert group["DeviceGroupIdentifiers"] == [leader["DeviceGroups"][0]["Identifier"]]
        member = queued[classes["devices"]["first"][0]]
        education = next(p for p in member["PayloadContent"] if p["PayloadType"] == "com.apple.education")
        anchor = next(p for p in member["PayloadContent"] if p["PayloadType"] == "com.apple.security.root")
        identity = next(p for p in member["PayloadContent"] if p["PayloadType"] == "com.apple.security.pkcs12")
        assert education["LeaderPayloadCertificateAnchorUUID"] == [anchor["PayloadUUID"]]
        assert education["PayloadCertificateUUID"] == identity["PayloadUUID"]
        assert education["OrganizationUUID"] == leader["OrganizationUUID"]
        key, certificate, _ = pkcs12.load_key_and_certificates(identity["PayloadContent"], identity["Password"].encode())
        assert certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value.startswith("member ")
        assert shared_ca().issued(certificate) and key is not None
        assert x509.load_der_x509_certificate(anchor["PayloadContent"]) == shared_ca().certificate
        from app.models import IssuedCertificate

        issued = session.scalars(select(IssuedCertificate.device_id)).all()
        assert sorted(issued) == sorted([teacher_ipad, *classes["devices"]["first"]])  # revocable, bound to each iPad


def test_classroom_needs_the_right_to_manage_the_class(client, db, world, classes):
    teacher = people.bearer(classes["teacher"])
    own = classes["devices"]["first"][0]
    assert client.post(f"/api/v1/groups/{classes['first']}/classroom/install", headers=teacher,
                       json={"teacher_device_id": own}).status_code == 403
    other = client.post(f"/api/v1/groups/{classes['first']}/classroom/install", headers=people.bearer(world["other_ict"]),
                        json={"teacher_device_id": own})
    assert other.status_code == 404


# ------------------------------------------------------------------------------ the export folder


def test_the_scheduler_imports_changed_exports_and_notes_a_bad_one(settings, db, world, tmp_path):
    from app.db import Database
    from app.services.rosters import exports

    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "nordby.csv").write_text(export(3, 2))
    (folder / "sorby.csv").write_text(HEADER + "u1,5A,a@b.no,A,boss\n")
    (folder / "ukjent.csv").write_text(export(1, 1))
    database = Database(settings.replace(roster_export_dir=folder))
    with database.unit_of_work() as session:
        assert exports.import_exports(session) == 1
    with database.unit_of_work() as session:
        assert exports.import_exports(session) == 0  # unchanged files are not read again
        links = {link.school.code: link for link in session.scalars(select(SchoolRoster))}
        assert (links["nordby"].last_import_failed, links["nordby"].last_import_source) == (False, "export")
        assert links["sorby"].last_import_failed and "line 2: role 'boss'" in links["sorby"].last_import_outcome
        assert session.scalar(select(func.count()).select_from(RosterClass)) == 3
    path = folder / "nordby.csv"
    path.write_text(export(2, 2))
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9, path.stat().st_mtime_ns + 10**9))
    with database.unit_of_work() as session:
        assert exports.import_exports(session) == 1
        assert session.scalar(select(func.count()).select_from(RosterClass)) == 2
    database.dispose()
