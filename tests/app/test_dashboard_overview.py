"""The front page at a glance: devices by state, OS versions, the last 30 days of check-ins as an SVG chart,
approvals waiting, what expires soon; per school for central IT, the own school for an ICT contact."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from app.models import Command
from app.models.base import utcnow
from app.models.commands import CommandStatus
from app.services.access import Role, approvals, principal_for_admin
from app.services.fleet import overview
from app.services.mdm import enrollment
from tests.support import factories, people

EN = {"Accept-Language": "en"}


@pytest.fixture
def fleet(db):
    now = utcnow()
    with db.session() as session:
        nordby = factories.school(session, "nordby", "Nordby skole")
        sorby = factories.school(session, "sorby", "Sørby skole")
        made = []
        for school, version, days, state in [
            (nordby, "17.5", 0, "enrolled"), (nordby, "17.5", 3, "enrolled"), (nordby, "18.1", 10, "enrolled"),
            (nordby, "18.1", 45, "enrolled"), (nordby, None, None, "pending"), (sorby, "16.7", 1, "enrolled"),
        ]:
            device = factories.device(session, school, state=state)
            device.os_version = version
            device.last_seen_at = None if days is None else now - dt.timedelta(days=days, minutes=5)
            made.append(device)
        session.add(Command(uuid="C-1", school_id=nordby.id, device_id=made[0].id, request_type="ProfileList", body=b"",
                            status=CommandStatus.QUEUED, created_by="test"))
        session.add(Command(uuid="C-2", school_id=nordby.id, device_id=made[1].id, request_type="ProfileList", body=b"",
                            status=CommandStatus.ERROR, created_by="test", completed_at=now - dt.timedelta(days=2)))
        central = people.admin(session, [(Role.CENTRAL_ADMIN, None)])
        ict = people.admin(session, [(Role.SCHOOL_ICT, nordby.id)])
        session.flush()
        approvals.submit(session, principal_for_admin(ict), [made[0].id], "EraseDevice", reason="Lost on a school trip")
        enrollment.create_token(session, principal_for_admin(central), school_code="nordby", label="Vogn 2", expires_in=dt.timedelta(days=3, hours=1))
        session.commit()
    return {"central": central, "ict": ict}


def test_the_numbers_of_an_ict_contacts_school(session, fleet):
    glance = overview.overview(session, principal_for_admin(session.merge(fleet["ict"])))
    assert (glance.total, glance.enrolled, glance.pending) == (5, 4, 1)
    assert (glance.not_seen_7, glance.not_seen_30, glance.never_seen) == (2, 1, 1)
    assert (glance.with_open_commands, glance.failed_commands_30) == (1, 1)
    assert glance.os_versions == [("17.5", 2), ("18.1", 2)]
    assert len(glance.last_seen_days) == 30 and glance.last_seen_days[-1] == (utcnow().date(), 1)
    assert sum(count for _day, count in glance.last_seen_days) == 3  # seen within 30 days: today, 3 and 10 days ago


def test_central_it_sees_every_school_and_one_at_a_time(client, fleet):
    people.sign_in(client, fleet["central"])
    page = client.get("/", headers=EN).get_data(as_text=True)
    assert "<strong>6</strong> devices" in page and "<strong>1</strong> approvals waiting" in page
    assert 'class="badge"' in page  # in the menu too
    assert page.count('<svg class="chart"') == 2 and "16.7" in page
    assert "Nordby skole" in page and "Sørby skole" in page and 'href="/?school=nordby"' in page
    assert "Enrollment link Vogn 2 at Nordby skole expires in 3 days." in page
    one = client.get("/?school=sorby", headers=EN).get_data(as_text=True)
    assert "<strong>1</strong> devices" in one and "Overview: Sørby skole" in one
    assert client.get("/?school=nowhere", headers=EN).status_code == 404


def test_an_ict_contact_sees_only_their_school_in_norwegian(client, fleet):
    people.sign_in(client, fleet["ict"])
    page = client.get("/", headers={"Accept-Language": "nb"}).get_data(as_text=True)
    assert "Oversikt: Nordby skole" in page and "<strong>5</strong> enheter" in page
    assert "16.7" not in page and "Sørby" not in page
    assert "ikke sett på 30 dager" in page
    assert client.get("/?school=sorby").status_code == 404
    # Each number links to the devices behind it.
    assert re.search(r'href="/devices\?[^"]*not_seen_days=30', page)
