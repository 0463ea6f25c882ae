"""A Google domain for the generated endpoint suites: one fake Google per test process, a connection
to it, each school of a world mapped to a unit, and one Chromebook per school known to both sides."""

from __future__ import annotations

import atexit
import functools
import json
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import context
from app.models.base import utcnow
from app.models.devices import Device, EnrollmentState, Platform
from app.models.google import Chromebook, GoogleConnection, GoogleOrgUnit
from app.services.google import KEY_LABEL
from tests.fakes import pki
from tests.fakes.google import FakeGoogle
from tests.support import factories

ADMIN = "it@bergvik.no"
PARENT = "/Skoler"


@functools.cache
def fake() -> FakeGoogle:
    ca = pki.make_ca("Fake Google CA (endpoint suites)")
    server = pki.issue(ca, "localhost", server_names=("127.0.0.1", "localhost"))
    google = FakeGoogle(server.cert_pem, server.key_pem).start()
    atexit.register(google.stop)
    google.add_org_unit(PARENT)
    folder = Path(tempfile.mkdtemp(prefix="fake-google-"))
    (folder / "ca.pem").write_bytes(ca.cert_pem)
    google.ca_file = folder / "ca.pem"  # type: ignore[attr-defined]
    return google


@functools.cache
def key() -> dict[str, Any]:
    return fake().service_account_key("matrix")


def ca_file() -> str:
    return str(fake().ca_file)  # type: ignore[attr-defined]


def settings(base: Settings) -> Settings:
    return base.replace(google_admin_url=fake().url, google_policy_url=fake().url)


def add_to_world(session: Session, world: Any) -> None:
    """Connect the world's organisation to the fake and give each school a unit and a Chromebook."""
    google = fake()
    organisation = factories.organisation(session)
    if session.scalar(select(GoogleConnection).where(GoogleConnection.organisation_id == organisation.id)) is None:
        session.add(GoogleConnection(
            organisation_id=organisation.id, customer_id=google.customer_id, domain=google.domain, admin_email=ADMIN,
            client_email=key()["client_email"], client_id=key()["client_id"], project_id=key()["project_id"],
            key_id=key()["private_key_id"], connected_by="test", connected_at=utcnow(),
            sealed_key=context(session).secrets.seal(json.dumps(key()).encode(), label=KEY_LABEL)))
        session.add(GoogleOrgUnit(organisation_id=organisation.id, ou_path=PARENT,
                                  ou_id=google.org_units[PARENT]["orgUnitId"][3:], created_by="test"))
    chromebooks: dict[int, Device] = {}
    for side, school in world.schools.items():
        if school.id in chromebooks:  # a side that shares another's school (a sibling class)
            world.objects[("chromebook", side)] = chromebooks[school.id]
            continue
        path = f"{PARENT}/{school.code}"
        unit = google.add_org_unit(path)
        session.add(GoogleOrgUnit(organisation_id=organisation.id, school_id=school.id, ou_path=path,
                                  ou_id=unit["orgUnitId"][3:], created_by="test"))
        (item,) = google.add_devices(1, path, prefix="MX")
        device = Device(school_id=school.id, platform=Platform.CHROMEOS, google_device_id=item["deviceId"],
                        serial_number=item["serialNumber"], model=item["model"], enrollment_state=EnrollmentState.ENROLLED)
        session.add(device)
        session.flush()
        session.add(Chromebook(device_id=device.id, school_id=school.id, org_unit_path=path, status="ACTIVE", synced_at=utcnow()))
        world.objects[("chromebook", side)] = chromebooks[school.id] = device
    session.flush()
