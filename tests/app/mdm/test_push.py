"""Waking devices: pushes after queueing, invalid tokens, retries, back-off, and the scheduler jobs."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from app.errors import NotReady
from app.models import AuditEvent, Command, Device
from app.models.base import utcnow
from app.models.pki import PushCertificateRecord
from app.services.mdm import jobs as mdm_jobs
from app.services.mdm import push
from mdm_protocol import apns


def device_row(db, udid):
    with db.session() as session:
        return session.scalar(select(Device).where(Device.udid == udid))


def wake(db, *udids):
    with db.unit_of_work() as session:
        ids = list(session.scalars(select(Device.id).where(Device.udid.in_(udids))))
        return push.wake(session, ids)


def test_next_delay_doubles_and_is_capped():
    assert [push.next_delay(n) for n in (1, 2, 3)] == [dt.timedelta(minutes=m) for m in (2, 4, 8)]
    assert push.next_delay(30) == push.BACKOFF_CAP


def test_wake_pushes_and_records_the_back_off(db, enrolled, fake_apns):
    fake_apns.wait_for(1)
    fake_apns.reset()
    report = wake(db, enrolled.udid)
    assert report.sent == 1 and fake_apns.wait_for(1)
    device = device_row(db, enrolled.udid)
    assert device.push_attempts == 2  # the enrolment push, then this one
    assert device.next_push_at - device.last_push_at == push.next_delay(2)


def test_an_unregistered_token_is_marked_and_not_pushed_again(db, enrolled, fake_apns):
    fake_apns.script(enrolled.push_token.hex(), 410)
    report = wake(db, enrolled.udid)
    assert report.outcomes[apns.Outcome.INVALID_TOKEN] == 1
    device = device_row(db, enrolled.udid)
    assert device.push_token_invalid_at is not None
    with db.session() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "device.push_token_invalid"))
        assert event.details == {"reason": "Unregistered"} and event.school_id == device.school_id
        assert push.due_for_push(session, now=utcnow() + dt.timedelta(days=1)) == []
    fake_apns.reset()
    assert wake(db, enrolled.udid).skipped == 1 and fake_apns.pushes == []


def test_a_new_token_update_clears_the_invalid_mark(db, enrolled, transport, fake_apns):
    fake_apns.script(enrolled.push_token.hex(), (400, "BadDeviceToken"))
    wake(db, enrolled.udid)
    assert device_row(db, enrolled.udid).push_token_invalid_at is not None
    enrolled.push_token = b"\x42" * 32
    enrolled.checkin(transport, enrolled.token_update_message())
    assert device_row(db, enrolled.udid).push_token_invalid_at is None
    assert wake(db, enrolled.udid).sent == 1


def test_too_many_requests_is_retried(db, enrolled, fake_apns):
    fake_apns.wait_for(1)
    fake_apns.reset()
    fake_apns.script(enrolled.push_token.hex(), 429, 503)
    report = wake(db, enrolled.udid)
    assert report.sent == 1 and fake_apns.attempts[enrolled.push_token.hex()] == 3


def test_due_for_push_follows_the_back_off_and_the_device(db, enrolled, transport, fake_apns):
    now = utcnow()
    with db.session() as session:
        # just enrolled and pushed: its four commands wait, the next push is due in 2 minutes
        assert push.due_for_push(session, now=now) == []
        device_id = session.scalar(select(Device.id))
        assert push.due_for_push(session, now=now + dt.timedelta(minutes=3)) == [device_id]
    answer = enrolled.idle(transport)  # it connects: takes what was queued
    while answer.command:
        answer = enrolled.report(transport, "Acknowledged", answer.command_uuid)
    with db.session() as session:
        assert push.due_for_push(session, now=now + dt.timedelta(hours=1)) == []
    from app.services.access import cli_principal
    from app.services.mdm import commands as queue

    with db.unit_of_work() as session:
        queue.enqueue(session, cli_principal(), [device_id], "SecurityInfo")
        assert push.take_wakes(session) == [device_id]  # pushed after the commit, with a fresh back-off
    with db.session() as session:
        assert push.due_for_push(session, now=now) == [device_id]
    with db.unit_of_work() as session:
        session.execute(update(Device).values(push_attempts=push.MAX_ATTEMPTS, next_push_at=now))
    with db.session() as session:
        assert push.due_for_push(session, now=now + dt.timedelta(days=2)) == []  # given up ...
    with db.unit_of_work() as session:
        queue.enqueue(session, cli_principal(), [device_id], "ProfileList")  # ... until something new is queued
    with db.session() as session:
        assert push.due_for_push(session, now=now) == [device_id]


def test_the_push_job_wakes_waiting_devices(db, new_ipad, transport, fake_apns):
    ipads = [new_ipad() for _ in range(3)]
    for ipad in ipads:
        ipad.enrol(transport)
    assert fake_apns.wait_for(3)
    fake_apns.reset()
    later = utcnow() + dt.timedelta(minutes=3)
    with db.unit_of_work() as session:
        report = mdm_jobs.push_waiting_devices(session, now=later)
    assert report.sent == 3 and fake_apns.wait_for(3)
    with db.unit_of_work() as session:  # pushed again: not due before the next delay
        assert mdm_jobs.push_waiting_devices(session, now=later).outcomes == {}


def test_without_a_push_certificate_the_job_waits_quietly(db, enrolled, caplog):
    with db.unit_of_work() as session:
        session.execute(update(PushCertificateRecord).values(replaced_at=utcnow()))
    with db.unit_of_work() as session:
        report = mdm_jobs.push_waiting_devices(session, now=utcnow() + dt.timedelta(hours=1))
        assert report.skipped == 1
        with pytest.raises(NotReady):
            push.wake(session, [session.scalar(select(Device.id))])
    assert "wait for a push" in caplog.text


def test_the_inventory_job_asks_each_enrolled_ipad_once_a_day(db, enrolled, transport):
    now = utcnow()
    with db.unit_of_work() as session:
        assert mdm_jobs.refresh_inventory(session, now=now) == 0  # the enrolment inventory is still open
    answer = enrolled.idle(transport)
    while answer.command:
        answer = enrolled.report(transport, "Acknowledged", answer.command_uuid)
    with db.unit_of_work() as session:
        assert mdm_jobs.refresh_inventory(session, now=now) == 0  # asked today
        assert mdm_jobs.refresh_inventory(session, now=now + dt.timedelta(days=1, minutes=1)) == 1
        assert mdm_jobs.refresh_inventory(session, now=now + dt.timedelta(days=1, minutes=2)) == 0
    with db.session() as session:
        counts = dict(session.execute(select(Command.request_type, func.count()).group_by(Command.request_type)).all())
        assert counts == {"DeviceInformation": 2, "SecurityInfo": 2, "ProfileList": 2, "InstalledApplicationList": 2}
        assert session.scalar(select(Device.next_push_at)) is None  # due for the push job


def test_jobs_are_registered_with_the_scheduler():
    from app.scheduler import jobs

    assert {job.name for job in jobs()} >= {"mdm.expire_commands", "mdm.push_waiting_devices", "mdm.refresh_inventory",
                                           "mdm.purge_finished_commands"}
