"""Syncing ASM's devices: full fetch in pages, incremental sync, deletions marked, resumable, Apple's refusals as states."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.models.asm import AsmDevice, AsmToken, SyncState
from app.models.audit import AuditEvent
from app.services.access import cli_principal
from app.services.asm import sync
from mdm_protocol.asm import client as dep


def run_sync(db, token_id, **options):
    with db.unit_of_work() as session:
        return sync.sync_token(session, token_id, checkpoint=session.commit, **options)


def devices(db) -> dict[str, AsmDevice]:
    with db.session() as session:
        return {row.serial_number: row for row in session.scalars(select(AsmDevice))}


def test_the_first_sync_fetches_every_device_and_learns_the_organisation(db, fake_dep, imported_token):
    fake_dep.add_devices(2100, description="IPAD WI-FI 64GB", color="SILVER")
    token_id = imported_token()
    report = run_sync(db, token_id)
    assert report.ok and report.full and report.pages == 3 and report.added == 2100
    stored = devices(db)
    assert len(stored) == 2100
    sample = next(iter(stored.values()))
    assert (sample.description, sample.color, sample.device_family, sample.device_assigned_by) == (
        "IPAD WI-FI 64GB", "SILVER", "iPad", "it@bergvik.kommune.no")
    with db.session() as session:
        token = session.get(AsmToken, token_id)
        assert (token.org_name, token.server_name, token.server_uuid) == ("Bergvik kommune", "Flokk Bergvik", fake_dep.server_uuid)
        assert token.sync_cursor and token.fetch_cursor is None and token.sync_state == SyncState.OK


def test_later_syncs_apply_adds_changes_and_deletions_without_removing_anything(db, fake_dep, imported_token):
    first, second, third = fake_dep.add_devices(3)
    token_id = imported_token()
    run_sync(db, token_id)
    fake_dep.modify(first, color="SPACE GRAY", description="IPAD AIR")
    fake_dep.delete(second)
    new = fake_dep.add_devices(2, prefix="NEW")
    report = run_sync(db, token_id)
    assert not report.full and (report.added, report.modified, report.deleted) == (2, 1, 1)
    stored = devices(db)
    assert set(stored) == {first, second, third, *new}
    assert stored[first].color == "SPACE GRAY" and stored[first].deleted_at is None
    assert stored[second].deleted_at is not None  # marked, kept
    assert [path for _, path, _ in fake_dep.requests if path in ("/server/devices", "/devices/sync")].count("/server/devices") == 1


def test_a_repeated_device_in_sync_keeps_its_latest_change(db, fake_dep, imported_token):
    serial = fake_dep.add_devices(1)[0]
    token_id = imported_token()
    run_sync(db, token_id)
    fake_dep.modify(serial, color="BLUE")
    fake_dep.delete(serial)  # the same device twice: the deletion is the later change
    run_sync(db, token_id)
    assert devices(db)[serial].deleted_at is not None
    fake_dep.devices[serial].deleted = False
    fake_dep.modify(serial, color="GOLD")  # assigned to Flokk again
    run_sync(db, token_id)
    assert devices(db)[serial].deleted_at is None and devices(db)[serial].color == "GOLD"


def test_an_expired_cursor_starts_a_full_fetch_and_marks_what_vanished(db, fake_dep, imported_token):
    kept, gone = fake_dep.add_devices(2)
    token_id = imported_token()
    run_sync(db, token_id)
    with db.unit_of_work() as session:
        session.get(AsmToken, token_id).sync_cursor_at -= dt.timedelta(days=1)
    fake_dep.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    fake_dep.session_lifetime = dt.timedelta(days=30)
    fake_dep.devices[gone].deleted = True  # vanished while Flokk was not looking: no sync op to see
    report = run_sync(db, token_id)
    assert report.ok and report.full and report.deleted == 1
    assert devices(db)[gone].deleted_at is not None and devices(db)[kept].deleted_at is None


def test_a_fetch_that_fails_half_way_resumes_from_its_cursor(db, fake_dep, imported_token):
    fake_dep.add_devices(3500)
    token_id = imported_token()
    fetches = []
    original = fake_dep.handle

    def failing_after_two_pages(method, path, *args):
        if path == "/server/devices":
            fetches.append(path)
            if len(fetches) == 3:
                return 503, {}, b"down for maintenance"
        return original(method, path, *args)

    fake_dep.handle = failing_after_two_pages
    with db.unit_of_work() as session:
        client = sync.tokens.client_for(session, session.get(AsmToken, token_id))
    client.max_attempts, client.sleep = 1, lambda seconds: None
    report = run_sync(db, token_id, client=client)
    assert report.state == SyncState.UNAVAILABLE and "503" in report.message
    assert len(devices(db)) == 2000  # two pages kept, with the cursor of the third
    with db.session() as session:
        token = session.get(AsmToken, token_id)
        assert token.fetch_cursor and token.sync_state == SyncState.UNAVAILABLE
    report = run_sync(db, token_id)
    assert report.ok and report.added == 1500 and report.pages == 2
    assert len(devices(db)) == 3500 and not any(row.deleted_at for row in devices(db).values())


@pytest.mark.parametrize(("break_it", "state", "words"), [
    (lambda fake: setattr(fake, "terms_signed", False), SyncState.TERMS_NOT_SIGNED, "accept them"),
    (lambda fake: setattr(fake, "revoked", True), SyncState.TOKEN_REJECTED, "download a new one"),
])
def test_apples_refusals_become_a_state_central_it_can_act_on(db, fake_dep, imported_token, break_it, state, words):
    fake_dep.add_devices(3)
    token_id = imported_token()
    break_it(fake_dep)
    report = run_sync(db, token_id)
    assert report.state == state and words in report.message
    with db.session() as session:
        token = session.get(AsmToken, token_id)
        assert token.sync_state == state and words in token.sync_message
        assert session.scalar(select(func.count()).select_from(AsmDevice)) == 0
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "asm.sync"))
        assert event.outcome == "failure" and event.details["state"] == state


def test_rate_limits_are_waited_out(db, fake_dep, imported_token, monkeypatch):
    monkeypatch.setattr(dep.DepClient, "_backoff", lambda self, delay, retry_after: 0.0)
    fake_dep.add_devices(10)
    token_id = imported_token()
    fake_dep.trouble(429, 3, retry_after=1)
    assert run_sync(db, token_id).ok and len(devices(db)) == 10
    assert [status for _, _, status in fake_dep.requests[:3]] == [429, 429, 429]


def test_the_scheduler_syncs_tokens_that_are_due_or_asked_for(db, fake_dep, imported_token):
    fake_dep.add_devices(5)
    token_id = imported_token()
    with db.unit_of_work() as session:
        assert [report.ok for report in sync.sync_due(session)] == [True]
        assert sync.sync_due(session) == []  # just synced, nothing asked
        sync.tokens.request_sync(session, cli_principal(), token_id)
    with db.unit_of_work() as session:
        assert len(sync.sync_due(session)) == 1


def test_a_new_token_for_the_same_server_renews_the_one_flokk_has(db, fake_dep, imported_token):
    fake_dep.add_devices(4)
    first = imported_token()
    run_sync(db, first)
    fake_dep.credentials = fake_dep.new_credentials()  # renewed in ASM: the old credentials stop working
    second = imported_token()
    assert second != first
    with db.unit_of_work() as session:
        (report,) = sync.sync_due(session)
    assert report.ok and report.token_id == first and not report.full
    with db.session() as session:
        (token,) = session.scalars(select(AsmToken)).all()
        assert token.id == first and token.server_uuid == fake_dep.server_uuid
        assert session.scalar(select(func.count()).select_from(AsmDevice).where(AsmDevice.token_id == first)) == 4
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "asm.token_renew")) is not None
    assert run_sync(db, first).ok
