"""The scheduler's app jobs: the token's expiry is warned, a retired iPad gives its licences back, devices
holding licences are asked how their apps are, a sync asked for from the dashboard is run."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.models import Command
from app.models import AuditEvent
from app.models.apps import AppLicence
from app.models.base import utcnow
from app.scheduler import jobs as scheduler_jobs
from app.services.access import cli_principal
from app.services.apps import catalogue, connection, jobs, licences, settings
from app.services.fleet import device_removal
from tests.app.apps.conftest import EXAM_APP
from tests.support import factories


def _ready(db, world, location):
    with db.unit_of_work() as session:
        connection.import_token(session, cli_principal(), location[1])
        catalogue.sync(session, cli_principal())
        device = factories.device(session, world.school)
        settings.set_app(session, cli_principal(), "baseline", EXAM_APP.adam_id, "required")
        licences.process(session)
        return device.id, device.serial_number


def test_the_app_jobs_are_scheduled():
    assert {"apps.licences", "apps.sync", "apps.refresh_install_state", "apps.token_expiry"} <= {job.name for job in scheduler_jobs()}


def test_a_token_about_to_expire_is_warned_in_the_log_and_the_audit_log(db, world, fake_apps, location):
    with db.unit_of_work() as session:
        token = connection.import_token(session, cli_principal(), location[1]).token
        assert connection.warn_before_expiry(session) == []
        token.expires_at = utcnow() + dt.timedelta(days=12)
        (warning,) = connection.warn_before_expiry(session)
    assert "Bergvik skoler expires on" in warning and "flokk apps token import" in warning
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "apps.token_expiring")) == 1


def test_a_removed_ipad_gives_its_licences_back(db, world, fake_apps, location):
    place, _ = location
    device_id, serial = _ready(db, world, location)
    assert (EXAM_APP.adam_id, "STDQ", serial) in place.assignments
    with db.unit_of_work() as session:
        device_removal.remove(session, cli_principal(), [device_id], reason="sold")
        licences.process(session)
    assert (EXAM_APP.adam_id, "STDQ", serial) not in place.assignments
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(AppLicence)) == 0


def test_a_device_is_asked_how_its_install_went_once_it_answered_it(db, world, fake_apps, location, monkeypatch):
    device_id, _ = _ready(db, world, location)

    def queries() -> int:
        with db.session() as session:
            return session.scalar(select(func.count()).select_from(Command).where(
                Command.device_id == device_id, Command.request_type == "ManagedApplicationList"))

    with db.unit_of_work() as session:
        assert jobs.refresh_app_states(session) == 0  # the install is still waiting for the iPad
        session.execute(Command.__table__.update().where(Command.request_type == "InstallApplication")
                        .values(status="acknowledged", completed_at=utcnow() - dt.timedelta(minutes=1)))
    with db.unit_of_work() as session:
        assert jobs.refresh_app_states(session) == 0  # answered a minute ago: give it time to download
    monkeypatch.setattr(jobs, "AFTER_COMMAND", dt.timedelta(seconds=30))
    with db.unit_of_work() as session:
        assert jobs.refresh_app_states(session) == 1
        assert jobs.refresh_app_states(session) == 0  # asked, not answered yet
    assert queries() == 1
    with db.unit_of_work() as session:  # never answered: asked again
        session.execute(Command.__table__.update().where(Command.request_type == "ManagedApplicationList")
                        .values(status="expired", completed_at=utcnow()))
        assert jobs.refresh_app_states(session) == 1


def test_a_sync_asked_for_runs_at_the_next_scheduler_round(db, world, fake_apps, location):
    with db.unit_of_work() as session:
        connection.import_token(session, cli_principal(), location[1])
        assert catalogue.scheduled_sync(session).assets == 200  # never synced: due
        assert catalogue.scheduled_sync(session) is None  # synced a moment ago
        catalogue.request_sync(session, cli_principal())
        assert catalogue.scheduled_sync(session).assets == 200
