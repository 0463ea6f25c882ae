"""The app pages: central IT imports the token and sees licences per school; a school's ICT contact picks an
allowed app for a class, sees each iPad's state and the reason it waits, and cannot change central IT's lock."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import select

from app.models import Device
from app.services.access import Role, cli_principal
from app.services.apps import catalogue, connection, licences, settings
from tests.app.apps.conftest import EXAM_APP, READING_APP
from tests.support import factories, people


def _connected(db, location):
    """A token imported and synced, the exam app required and locked, the reading app available."""
    place, token = location
    with db.unit_of_work() as session:
        connection.import_token(session, cli_principal(), token)
        catalogue.sync(session, cli_principal())
        settings.set_app(session, cli_principal(), "baseline", EXAM_APP.adam_id, "required", lock=True)
        settings.set_app(session, cli_principal(), "baseline", READING_APP.adam_id, "available")
    return place


def test_central_it_imports_the_token_from_the_page_and_sees_licences(db, client, world, fake_apps, location):
    with db.unit_of_work() as session:
        central = people.admin(session, [(Role.CENTRAL_ADMIN, None)])
    people.sign_in(client, central)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post("/apps/token", data={"csrf_token": people.CSRF, "token": (io.BytesIO(location[1]), "x.vpptoken")},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    page = client.get("/apps")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Bergvik skoler" in text
    assert "mzstatic.com" in page.headers["Content-Security-Policy"]
    with db.unit_of_work() as session:
        catalogue.scheduled_sync(session)  # the page asked for a sync; the scheduler runs it
    text = client.get("/apps").get_data(as_text=True)
    assert "Numbers" in text and "Læringsapp 7" in text

    # the front page warns when the token is about to expire
    with db.unit_of_work() as session:
        connection.current(session).expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    assert "Download a new token in Apple School Manager soon" in client.get("/").get_data(as_text=True)


def test_a_school_picks_an_allowed_app_for_a_class_and_sees_why_an_ipad_waits(
    db, client, world, fake_apps, location, new_ipad, transport, fake_apns
):
    place = _connected(db, location)
    place.assets[(READING_APP.adam_id, "STDQ")].total = 0  # every reading licence is in use elsewhere
    with db.unit_of_work() as session:
        group = factories.group(session, world.school, name="3A")
        ict = people.admin(session, [(Role.SCHOOL_ICT, world.school.id)])
        catalogue.sync(session, cli_principal())
    ipad = new_ipad()
    ipad.enrol(transport)
    with db.unit_of_work() as session:
        device = session.scalar(select(Device).where(Device.udid == ipad.udid))
        device.group_id = group.id
    people.sign_in(client, ict)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    # a refused change: the exam app is locked by central IT
    refused = client.post(f"/groups/{group.id}/apps", data={"csrf_token": people.CSRF, "app": EXAM_APP.adam_id,
                                                          "state": "removed", "intent": "save"})
    assert refused.status_code == 422
    assert "locked in baseline" in refused.get_data(as_text=True)

    # preview, then save: the reading app required for 3A
    form = {"csrf_token": people.CSRF, "app": READING_APP.adam_id, "state": "required"}
    preview = client.post(f"/groups/{group.id}/apps", data={**form, "intent": "preview"})
    assert preview.status_code == 200 and "assign a licence" in preview.get_data(as_text=True)
    saved = client.post(f"/groups/{group.id}/apps", data={**form, "intent": "save"})
    assert saved.status_code == 302
    with db.unit_of_work() as session:
        licences.process(session)
    page = client.get(f"/groups/{group.id}/apps").get_data(as_text=True)
    assert "no free licence" in page  # the pool ran out: the iPad waits, with the reason
    assert "Keynote" in page and "Numbers" in page
    device_page = client.get(f"/devices/{device.id}").get_data(as_text=True)
    assert "Apps from the policy" in device_page and "no free licence" in device_page
    norsk = client.get(f"/groups/{group.id}/apps", headers={"Accept-Language": "nb"}).get_data(as_text=True)
    assert "Apper for 3A" in norsk and "påkrevd" in norsk

    # a school's ICT contact cannot change the baseline's apps
    assert client.post("/apps", data={**form, "intent": "save"}).status_code == 403
