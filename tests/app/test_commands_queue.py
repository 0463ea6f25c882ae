import plistlib

import pytest
from sqlalchemy import select

from app.errors import Forbidden, InvalidInput, NotFound
from app.models import AuditEvent, Command
from app.models.devices import EnrollmentState, Platform
from app.services.access import Grant, Principal, Role
from app.services.mdm import commands
from tests.support import factories


def ict(school):
    return Principal("admin", 5, "admin:ict@a", (Grant(Role.SCHOOL_ICT, school.id),))


def test_enqueue_writes_the_exact_body_a_device_receives(session, principal):
    school = factories.school(session)
    device = factories.device(session, school)
    queued = commands.enqueue(session, principal, [device.id], "DeviceLock", {"Message": "Levér til IT", "PhoneNumber": "+47 12345678"})
    row = session.scalars(select(Command)).one()
    body = plistlib.loads(row.body)
    assert body == {
        "CommandUUID": queued.command_uuids[device.id],
        "Command": {"RequestType": "DeviceLock", "Message": "Levér til IT", "PhoneNumber": "+47 12345678"},
    }
    assert (row.status, row.school_id, row.request_type, row.created_by) == ("queued", school.id, "DeviceLock", principal.label)
    assert row.expires_at > row.created_at


@pytest.mark.parametrize(
    ("request_type", "params", "named"),
    [
        ("DeviceLock", {"Mesage": "typo"}, "Mesage"),
        ("DeviceLock", {"Message": 42}, "Message"),
        ("InstallApplication", {"iTunesStoreID": "not a number"}, "iTunesStoreID"),
        ("NoSuchCommand", {}, "NoSuchCommand"),
    ],
)
def test_a_wrong_parameter_is_refused_naming_the_key(session, principal, request_type, params, named):
    device = factories.device(session, factories.school(session))
    with pytest.raises(InvalidInput) as raised:
        commands.enqueue(session, principal, [device.id], request_type, params)
    assert named in str(raised.value)
    assert session.scalars(select(Command)).all() == []


def test_bulk_enqueue_is_one_row_per_device_and_one_audit_event_per_school(session, principal):
    a, b = factories.school(session), factories.school(session)
    devices = [factories.device(session, a) for _ in range(3)] + [factories.device(session, b) for _ in range(2)]
    queued = commands.enqueue(session, principal, [d.id for d in devices], "DeviceInformation", {"Queries": ["OSVersion"]})
    assert len(queued) == 5 and len(set(queued.command_uuids.values())) == 5
    assert len(session.scalars(select(Command)).all()) == 5
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.school_id)).all()
    assert [(e.school_id, e.details["devices"]) for e in events] == [(a.id, 3), (b.id, 2)]


def test_an_ict_contact_cannot_command_another_schools_device(session):
    a, b = factories.school(session), factories.school(session)
    own, other = factories.device(session, a), factories.device(session, b)
    commands.enqueue(session, ict(a), [own.id], "ProfileList")
    with pytest.raises(NotFound):
        commands.enqueue(session, ict(a), [own.id, other.id], "ProfileList")
    assert len(session.scalars(select(Command)).all()) == 1


def test_destructive_commands_need_the_destructive_right(session):
    a = factories.school(session)
    device = factories.device(session, a)
    with pytest.raises(Forbidden):
        commands.enqueue(session, ict(a), [device.id], "EraseDevice")


def test_chromebooks_and_unenrolled_devices_get_no_mdm_commands(session, principal):
    school = factories.school(session)
    chromebook = factories.device(session, school, platform=Platform.CHROMEOS)
    gone = factories.device(session, school, state=EnrollmentState.UNENROLLED)
    for device in (chromebook, gone):
        with pytest.raises(InvalidInput):
            commands.enqueue(session, principal, [device.id], "ProfileList")
