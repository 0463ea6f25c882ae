"""A device's dashboard page as an ICT contact reads and uses it: what the iPad last reported,
commands named in words (Norwegian and English), a message on the lock screen."""

from __future__ import annotations

import plistlib

import pytest
from sqlalchemy import func, select

from app.http.dashboard import device_health
from app.models import Command
from app.models.base import utcnow
from app.models.devices import InstalledProfile
from app.services.access import Role
from tests.support import factories, people

INVENTORY = {
    "device_information": {"DeviceCapacity": 64.0, "AvailableDeviceCapacity": 12.345, "BatteryLevel": 0.83},
    "security_info": {"PasscodePresent": True, "PasscodeCompliant": False},
    "applications": [
        {"Name": "Showbie", "ShortVersion": "5.1", "Identifier": "com.showbie.Showbie"},
        {"Name": "Book Creator", "ShortVersion": "6.0", "Identifier": "com.redjumper.bookcreator"},
    ],
}


@pytest.fixture
def ipad(db):
    with db.session() as session:
        school = factories.school(session, "nordby")
        device = factories.device(session, school)
        device.inventory = INVENTORY
        session.add(InstalledProfile(school_id=school.id, device_id=device.id, identifier="no.flokk.nordby.wifi",
                                     display_name="Nordby Wi-Fi", is_managed=True, reported_at=utcnow()))
        admin = people.admin(session, [(Role.SCHOOL_ICT, school.id)])
        session.commit()
    return {"id": device.id, "admin": admin}


def commands_of(db, device_id):
    with db.session() as session:
        return session.scalars(select(Command).where(Command.device_id == device_id).order_by(Command.id)).all()


def test_the_page_shows_what_the_ipad_reported_in_norwegian(client, ipad):
    people.sign_in(client, ipad["admin"])
    page = client.get(f"/devices/{ipad['id']}", headers={"Accept-Language": "nb"}).get_data(as_text=True)
    for expected in ("12.3 av 64.0 GB ledig", "83 %", "satt, oppfyller ikke reglene", "Nordby Wi-Fi",
                     "no.flokk.nordby.wifi", "Installerte apper (2)", "Lås skjermen", "Slett alt innhold (må godkjennes)"):
        assert expected in page, expected
    assert page.index("Book Creator") < page.index("Showbie")  # apps by name
    assert ">EraseDevice<" not in page  # Apple's names are the values, not the labels


def test_a_lock_with_a_message_and_phone_number(client, db, ipad):
    people.sign_in(client, ipad["admin"])
    form = {"csrf_token": people.CSRF, "request_type": "DeviceLock", "message": "Lever til IT-kontoret",
            "phone": "+4712345678"}
    response = client.post(f"/devices/{ipad['id']}/commands", data=form, headers={"Accept-Language": "en"})
    assert response.status_code == 302
    (lock,) = commands_of(db, ipad["id"])
    assert plistlib.loads(lock.body)["Command"] == {
        "RequestType": "DeviceLock", "Message": "Lever til IT-kontoret", "PhoneNumber": "+4712345678"}
    page = client.get(f"/devices/{ipad['id']}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "“Lock the screen” is queued for 1 device(s)." in page
    assert 'title="DeviceLock">Lock the screen</td>' in page and 'title="queued">waiting</td>' in page


def test_the_message_fields_are_ignored_by_commands_that_show_nothing(client, db, ipad):
    people.sign_in(client, ipad["admin"])
    form = {"csrf_token": people.CSRF, "request_type": "RestartDevice", "message": "left over from a lock"}
    assert client.post(f"/devices/{ipad['id']}/commands", data=form).status_code == 302
    (restart,) = commands_of(db, ipad["id"])
    assert plistlib.loads(restart.body)["Command"] == {"RequestType": "RestartDevice"}


def test_lost_mode_without_a_message_is_refused_naming_the_field(client, db, ipad):
    people.sign_in(client, ipad["admin"])
    form = {"csrf_token": people.CSRF, "request_type": "EnableLostMode"}
    response = client.post(f"/devices/{ipad['id']}/commands", data=form, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "Message" in response.get_data(as_text=True)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Command)) == 0


@pytest.mark.parametrize("inventory", [
    None,
    {},
    {"device_information": "not a dict", "security_info": [], "applications": "nope"},
    {"device_information": {"DeviceCapacity": "64", "BatteryLevel": True}, "applications": [1, None, {"Name": None}]},
    {"device_information": {"DeviceCapacity": 32.0, "BatteryLevel": 7}, "security_info": {"PasscodePresent": "yes"}},
])
def test_odd_inventories_leave_facts_out_instead_of_breaking_the_page(inventory):
    health = device_health.read(inventory)
    assert health.battery is None and health.passcode_set is None
    assert health.storage in (None, ("0.0", "32.0"))
    assert all(app.name == "" for app in health.apps)
