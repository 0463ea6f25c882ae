"""Managed app configuration: sent with the install, then with Settings/ApplicationConfiguration when the
policy changes it (and taken away when the policy drops it); nothing when it is what the iPad has."""

from __future__ import annotations

import plistlib

from sqlalchemy import select

from app.models import Command
from app.services.access import cli_principal
from app.services.apps import catalogue, connection, licences, settings
from app.services.mdm.store import SqlMdmStore
from mdm_protocol.checkin import Enrollment
from mdm_protocol.reports import InventoryUpdate
from tests.app.apps.conftest import EXAM_APP
from tests.support import factories


def _commands(db, device_id: int, request_type: str) -> list[dict]:
    with db.session() as session:
        bodies = session.scalars(select(Command.body).where(Command.device_id == device_id, Command.request_type == request_type)
                                 .order_by(Command.id))
        return [plistlib.loads(body)["Command"] for body in bodies]


def _acknowledge_all(db, device_id: int) -> None:
    from app.models.base import utcnow

    with db.unit_of_work() as session:
        session.execute(Command.__table__.update().where(Command.device_id == device_id, Command.status == "queued")
                        .values(status="acknowledged", completed_at=utcnow()))


def _report_managed(db, udid: str, has_configuration: bool) -> None:
    with db.unit_of_work() as session:
        SqlMdmStore(session).store_inventory(Enrollment(device_id=udid), InventoryUpdate(
            "managed_applications", {"com.apple.Numbers": {"Status": "Managed", "HasConfiguration": has_configuration}}))


def test_configuration_goes_with_the_install_then_by_settings_when_it_changes(db, world, fake_apps, location):
    with db.unit_of_work() as session:
        connection.import_token(session, cli_principal(), location[1])
        catalogue.sync(session, cli_principal())
        device = factories.device(session, world.school)
        device_id, udid = device.id, device.udid
        settings.set_app(session, cli_principal(), "baseline", EXAM_APP.adam_id, "required",
                         configuration={"ExamServer": "https://prove.bergvik.no", "Rom": 204})
        licences.process(session)
    (install,) = _commands(db, device_id, "InstallApplication")
    assert install["Configuration"] == {"ExamServer": "https://prove.bergvik.no", "Rom": 204}
    _acknowledge_all(db, device_id)
    _report_managed(db, udid, has_configuration=True)
    assert _commands(db, device_id, "Settings") == []  # it has what the policy says

    with db.unit_of_work() as session:
        settings.set_app(session, cli_principal(), "baseline", EXAM_APP.adam_id, "required",
                         configuration={"ExamServer": "https://prove2.bergvik.no"})
    (changed,) = _commands(db, device_id, "Settings")
    assert changed["Settings"] == [{"Item": "ApplicationConfiguration", "Identifier": "com.apple.Numbers",
                                    "Configuration": {"ExamServer": "https://prove2.bergvik.no"}}]
    _acknowledge_all(db, device_id)
    _report_managed(db, udid, has_configuration=True)

    with db.unit_of_work() as session:
        settings.set_app(session, cli_principal(), "baseline", EXAM_APP.adam_id, "required", configuration=None)
    dropped = _commands(db, device_id, "Settings")[-1]
    assert dropped["Settings"] == [{"Item": "ApplicationConfiguration", "Identifier": "com.apple.Numbers"}]
    assert len(_commands(db, device_id, "InstallApplication")) == 1
