"""Replayed signed MDM bodies: a signature is accepted once within the replay window.

A captured Idle sent again must not hand out the device's next command; a
captured Authenticate must not cancel its queue. A network retry of the same
body loses nothing: the command its lost answer carried is offered again.
"""

from __future__ import annotations

import base64
import datetime as dt
import plistlib
import threading

from asn1crypto import cms as asn1_cms
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select, update

from app import endpoints
from app.models import AuditEvent, Command, Device, SeenSignature
from app.services.mdm import jobs
from app.services.mdm.store import REDELIVER_AFTER, REPLAY_WINDOW
from tests.app.mdm.test_identity import raw_put
from tests.support.ipad import FlaskTransport

IDLE_TYPE = "application/x-apple-aspen-mdm"
CHECKIN_TYPE = "application/x-apple-aspen-mdm-checkin"


def queue_state(db):
    with db.session() as session:
        return sorted((c.uuid, c.status, c.delivery_count) for c in session.scalars(select(Command)))


def replay_refusals(db):
    with db.session() as session:
        return [e for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "mdm.identity_refused"))
                if "replay" in e.details["reason"]]


def captured_idle(ipad):
    body = plistlib.dumps({"Status": "Idle", "UDID": ipad.udid})
    return body, ipad.headers(body, IDLE_TYPE)


def test_a_replayed_idle_gets_no_command_and_the_sent_one_is_not_lost(db, client, enrolled, transport):
    body, headers = captured_idle(enrolled)
    status, answer = raw_put(client, endpoints.MDM_SERVER, body, headers)
    assert status == 200
    sent = plistlib.loads(answer)["CommandUUID"]
    before = queue_state(db)
    status, answer = raw_put(client, endpoints.MDM_SERVER, body, headers)  # the captured copy, or a retry
    assert status == 403 and b"replay" in answer
    assert queue_state(db) == before  # the next command stays queued for the real iPad
    (refusal,) = replay_refusals(db)
    assert refusal.outcome == "denied" and refusal.target_id == enrolled.udid
    # Had that been the iPad retrying after its first answer was lost, the command comes again later.
    with db.unit_of_work() as session:
        session.execute(update(Command).where(Command.uuid == sent).values(
            sent_at=dt.datetime.now(dt.UTC) - REDELIVER_AFTER - dt.timedelta(minutes=1)))
    assert enrolled.idle(transport).command_uuid == sent


def test_a_replayed_authenticate_changes_nothing(db, world, new_ipad, client, transport):
    ipad = new_ipad()
    body = plistlib.dumps(ipad.authenticate_message())
    headers = ipad.headers(body, CHECKIN_TYPE)
    assert raw_put(client, endpoints.MDM_CHECKIN, body, headers)[0] == 200
    assert ipad.checkin(transport, ipad.token_update_message()).status == 200
    ipad.idle(transport)
    before = queue_state(db)
    assert raw_put(client, endpoints.MDM_CHECKIN, body, headers)[0] == 403
    assert queue_state(db) == before
    with db.session() as session:
        assert session.scalar(select(Device.enrollment_state).where(Device.udid == ipad.udid)) == "enrolled"
    assert len(replay_refusals(db)) == 1


def test_the_same_signature_wrapped_differently_is_still_a_replay(db, client, enrolled, flokk_ca):
    """The parts of a SignedData outside the signature can be re-encoded; the signature id ignores them."""
    body, headers = captured_idle(enrolled)
    assert raw_put(client, endpoints.MDM_SERVER, body, headers)[0] == 200
    info = asn1_cms.ContentInfo.load(base64.b64decode(headers["Mdm-Signature"]))
    signed_data = info["content"]
    extra = asn1_cms.CertificateChoices.load(flokk_ca.certificate.public_bytes(serialization.Encoding.DER))
    signed_data["certificates"] = [*signed_data["certificates"], extra]
    rewrapped = base64.b64encode(info.dump(force=True)).decode()
    assert rewrapped != headers["Mdm-Signature"]
    status, answer = raw_put(client, endpoints.MDM_SERVER, body, {**headers, "Mdm-Signature": rewrapped})
    assert status == 403 and b"replay" in answer


def test_two_copies_at_once_exactly_one_is_served(db, app, enrolled):
    body, headers = captured_idle(enrolled)
    start = threading.Barrier(2)
    statuses: list[int] = []

    def send():
        client = app.test_client()
        start.wait()
        statuses.append(raw_put(client, endpoints.MDM_SERVER, body, headers)[0])

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [200, 403]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Command).where(Command.status == "sent")) == 1


def test_the_window_is_bounded_and_old_signatures_are_forgotten(db, client, enrolled, transport):
    body, headers = captured_idle(enrolled)
    assert raw_put(client, endpoints.MDM_SERVER, body, headers)[0] == 200
    long_ago = dt.datetime.now(dt.UTC) - REPLAY_WINDOW - dt.timedelta(minutes=1)
    with db.unit_of_work() as session:
        session.execute(update(SeenSignature).values(seen_at=long_ago))
    # Older than the window, a signature counts as new again (it would have been purged by now) ...
    assert raw_put(client, endpoints.MDM_SERVER, body, headers)[0] == 200
    # ... and the scheduler forgets what is older than the window, and only that.
    with db.unit_of_work() as session:
        old = session.execute(update(SeenSignature).values(seen_at=long_ago)).rowcount
    assert enrolled.idle(transport).status == 200
    with db.unit_of_work() as session:
        assert jobs.forget_old_signatures(session) == old
        assert session.scalar(select(func.count()).select_from(SeenSignature)) == 1


def test_without_a_signature_mutual_tls_at_the_proxy_vouches_for_each_request(db, settings, enrolled):
    """Behind a proxy doing mutual TLS there is no signature to replay: the same body twice is fine."""
    from app import create_app

    proxied = create_app(settings.replace(trusted_proxies=("127.0.0.1/32",)))
    proxied.extensions["flokk"].db = db
    der = enrolled.certificate.public_bytes(serialization.Encoding.DER)
    header = {"Client-Cert": f":{base64.b64encode(der).decode()}:"}
    body = plistlib.dumps({"Status": "Idle", "UDID": enrolled.udid})
    transport = FlaskTransport(proxied.test_client())
    assert transport.put(endpoints.MDM_SERVER, body, header).status == 200
    assert transport.put(endpoints.MDM_SERVER, body, header).status == 200
