"""The device list as central IT and an ICT contact use it: the true total and paging over every
school, sorting by a column, filters, and a CSV export of exactly what the filter shows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from app.models.base import utcnow
from app.schemas.admin import DEVICE_SORTS
from app.services.access import Role
from app.services.fleet import devices
from tests.support import factories, people

EN = {"Accept-Language": "en"}


@pytest.fixture
def fleet(db):
    """Two schools: Nordby with a class 4A, Sørby; devices of both kinds, seen at different times."""
    now = utcnow()
    with db.session() as session:
        nordby = factories.school(session, "nordby", "Nordby skole")
        sorby = factories.school(session, "sorby", "Sørby skole")
        class_4a = factories.group(session, nordby, "4A")
        made = {}
        for number, (school, name, os_version, days, supervised, group) in enumerate([
            (nordby, "Anna", "17.5", 1, True, class_4a),
            (nordby, "Bjørn", "17.10", 40, True, class_4a),
            (nordby, "Cato", "16.7", 10, False, None),
            (nordby, "=HYPERLINK(\"x\")", "17.5", None, True, None),
            (sorby, "Dina", "17.5", 2, True, None),
            (sorby, "Eirik", "17.10", 100, False, None),
            (sorby, "Frida", "17.5", 3, True, None),
        ]):
            device = factories.device(session, school, group=group)
            device.name, device.os_version, device.supervised = name, os_version, supervised
            device.last_seen_at = None if days is None else now - dt.timedelta(days=days, minutes=number)
            made[name] = device.id
        chromebook = factories.device(session, sorby, platform="chromeos")
        chromebook.name, chromebook.google_device_id = "Gro", "G-1"
        central = people.admin(session, [(Role.CENTRAL_ADMIN, None)])
        ict = people.admin(session, [(Role.SCHOOL_ICT, nordby.id)])
        session.commit()
        return {"central": central, "ict": ict, "class_4a": class_4a.id, "ids": made}


def names(page: str) -> list[str]:
    body = page[page.index("<tbody>"):page.index("</tbody>")]
    return re.findall(r'<td><a href="/devices/\d+">([^<]*)</a></td>', body)


def get(client, path, **params):
    response = client.get(path, query_string=params, headers=EN)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def test_central_it_sees_the_true_total_and_pages_through_every_school(client, fleet):
    people.sign_in(client, fleet["central"])
    first = get(client, "/devices", limit=3)
    assert "<h1>Devices (8)</h1>" in first
    assert "Showing 1–3 of 8" in first and "Next page" in first and "Previous page" not in first
    seen = names(first)
    second = get(client, "/devices", limit=3, offset=3)
    third = get(client, "/devices", limit=3, offset=6)
    assert "Showing 7–8 of 8" in third and "Next page" not in third and "Previous page" in third
    seen += names(second) + names(third)
    assert len(seen) == len(set(seen)) == 8  # no device on two pages, none left out


def test_an_ict_contact_sees_and_exports_only_their_school(client, fleet):
    people.sign_in(client, fleet["ict"])
    page = get(client, "/devices")
    assert "<h1>Devices (4)</h1>" in page and "Dina" not in page
    assert "4A" in page  # the only school's classes are offered as a filter
    assert client.get("/devices", query_string={"school": "sorby"}, headers=EN).status_code == 404
    assert client.get("/devices.csv", query_string={"school": "sorby"}, headers=EN).status_code == 404
    rows = list(csv.DictReader(io.StringIO(client.get("/devices.csv").get_data(as_text=True))))
    assert {row["school"] for row in rows} == {"nordby"} and len(rows) == 4


@pytest.mark.parametrize(("sort", "expected"), [
    ("name", ["=HYPERLINK(\"x\")", "Anna", "Bjørn", "Cato", "Dina", "Eirik", "Frida", "Gro"]),
    ("-name", ["Gro", "Frida", "Eirik", "Dina", "Cato", "Bjørn", "Anna", "=HYPERLINK(\"x\")"]),
    # The most recently seen first, never seen before them (empty sorts as the largest, as in every column).
    ("-last_seen", ["Gro", "=HYPERLINK(\"x\")", "Anna", "Dina", "Frida", "Cato", "Bjørn", "Eirik"]),
    ("last_seen", ["Eirik", "Bjørn", "Cato", "Frida", "Dina", "Anna", "Gro", "=HYPERLINK(\"x\")"]),
])
def test_sorted_by_a_column(client, fleet, sort, expected):
    people.sign_in(client, fleet["central"])
    page = get(client, "/devices", sort=sort)
    shown = [name.replace("&#34;", '"').replace("&quot;", '"') for name in names(page)]
    if sort == "-last_seen":
        assert set(shown[:2]) == set(expected[:2]) and shown[2:] == expected[2:]
    elif sort == "last_seen":
        assert shown[:6] == expected[:6] and set(shown[6:]) == set(expected[6:])
    else:
        assert shown == expected
    # The heading sorts the other way on the next click, and the filters stay.
    assert 'aria-sort="%s"' % ("descending" if sort.startswith("-") else "ascending") in page


@pytest.mark.parametrize(("params", "expected"), [
    ({"school": "sorby"}, {"Dina", "Eirik", "Frida", "Gro"}),
    ({"platform": "chromeos"}, {"Gro"}),
    ({"os_version": "17.10"}, {"Bjørn", "Eirik"}),
    ({"supervised": "no"}, {"Cato", "Eirik", "Gro"}),
    ({"supervised": "yes", "school": "nordby"}, {"Anna", "Bjørn", "=HYPERLINK(\"x\")"}),
    # Not seen for 30 days: seen long ago or never.
    ({"not_seen_days": "30"}, {"Bjørn", "Eirik", "Gro", "=HYPERLINK(\"x\")"}),
    ({"search": "frid"}, {"Frida"}),
])
def test_filters(client, fleet, params, expected):
    people.sign_in(client, fleet["central"])
    page = get(client, "/devices", **params)
    shown = {name.replace("&#34;", '"').replace("&quot;", '"') for name in names(page)}
    assert shown == expected
    assert f"<h1>Devices ({len(expected)})</h1>" in page
    rows = list(csv.DictReader(io.StringIO(client.get("/devices.csv", query_string=params).get_data(as_text=True))))
    assert {row["name"].removeprefix("'") for row in rows} == expected


def test_a_class_filter(client, fleet):
    people.sign_in(client, fleet["central"])
    page = get(client, "/devices", school="nordby", group_id=fleet["class_4a"])
    assert set(names(page)) == {"Anna", "Bjørn"}
    assert f'<option value="{fleet["class_4a"]}" selected>4A</option>' in page


def test_the_csv_export_follows_the_order_and_never_runs_a_formula(client, fleet):
    people.sign_in(client, fleet["central"])
    response = client.get("/devices.csv", query_string={"school": "nordby", "sort": "name"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["name"] for row in rows] == ["'=HYPERLINK(\"x\")", "Anna", "Bjørn", "Cato"]
    assert rows[1]["class"] == "4A" and rows[1]["os_version"] == "17.5" and rows[1]["supervised"] == "yes"
    assert rows[1]["platform"] == "iPad" and rows[0]["last_seen"] == ""


def test_the_page_links_keep_the_filter_and_the_order(client, fleet):
    people.sign_in(client, fleet["central"])
    page = get(client, "/devices", sort="-name", supervised="yes", limit=2)
    link = re.search(r'<a href="([^"]+)" rel="next">', page).group(1).replace("&amp;", "&")
    for part in ("sort=-name", "supervised=yes", "offset=2", "limit=2"):
        assert part in link
    export = re.search(r'<a class="button" href="([^"]+)" download>', page).group(1).replace("&amp;", "&")
    assert export.startswith("/devices.csv?") and "supervised=yes" in export and "offset" not in export


@pytest.mark.parametrize("params", [{"sort": "udid"}, {"not_seen_days": "0"}, {"supervised": "maybe"},
                                    {"os_version": "x" * 40}])
def test_a_bad_filter_is_a_clear_4xx(client, fleet, params):
    people.sign_in(client, fleet["central"])
    assert client.get("/devices", query_string=params, headers=EN).status_code == 422
    assert client.get("/devices.csv", query_string=params, headers=EN).status_code == 422


def test_the_schema_offers_every_sort_the_service_knows():
    assert DEVICE_SORTS == devices.sort_keys()


def test_os_versions_are_offered_newest_first():
    assert sorted(["16.7", "17.10", "17.5", "17.9"], key=devices.version_key, reverse=True) == ["17.10", "17.9", "17.5", "16.7"]
