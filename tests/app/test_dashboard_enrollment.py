"""Enrollment links in the dashboard as an ICT contact hands them out: a QR code (SVG on the page, PNG to
print) that reads back to the link, a copy button, the class, uses against the limit, expiry in words."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from PIL import Image

from app import qr
from app.services.access import Role
from tests.support import factories, people


def decode(png: bytes) -> str:
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return found.text


@pytest.fixture
def link(client, db):
    with db.session() as session:
        nordby = factories.school(session, "nordby", "Nordby skole")
        factories.group(session, nordby, "4A")
        sorby = factories.school(session, "sorby", "Sørby skole")
        ict = people.admin(session, [(Role.SCHOOL_ICT, nordby.id)])
        other = people.admin(session, [(Role.SCHOOL_ICT, sorby.id)])
        auditor = people.admin(session, [(Role.AUDITOR, None)])
        session.commit()
    people.sign_in(client, ict)
    form = {"csrf_token": people.CSRF, "school": "nordby", "label": "Trolley 2", "group": "4A", "expires": "30d",
            "max_uses": "30"}
    response = client.post("/enrollment-tokens", data=form, headers={"Accept-Language": "en"})
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    url = re.search(r'<code class="secret" id="enrollment-url">([^<]+)</code>', page).group(1)
    token_id = int(re.search(r'/enrollment-tokens/(\d+)/qr\.svg', page).group(1))
    return {"url": url, "id": token_id, "page": page, "ict": ict, "other": other, "auditor": auditor}


def test_the_link_page_shows_the_qr_code_class_uses_and_expiry(client, link):
    page = link["page"]
    assert f'<img src="/enrollment-tokens/{link["id"]}/qr.svg"' in page
    assert 'class="copy" data-copy="enrollment-url"' in page
    for expected in ("4A", "0 of 30 times", "in 4 weeks", "Download the QR code (PNG)"):
        assert expected in page, expected
    norwegian = client.get(f"/enrollment-tokens/{link['id']}", headers={"Accept-Language": "nb"}).get_data(as_text=True)
    for expected in ("0 av 30 ganger", "om 4 uker", "Kopier adressen", "aktiv"):
        assert expected in norwegian, expected
    listing = client.get("/enrollment-tokens", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<td>4A</td>" in listing and "0 of 30" in listing and "in 4 weeks" in listing


def test_the_png_reads_back_to_the_link(client, link):
    response = client.get(f"/enrollment-tokens/{link['id']}/qr.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"  # the image carries the token
    assert decode(response.data) == link["url"]


def test_the_svg_is_the_same_code(client, link):
    response = client.get(f"/enrollment-tokens/{link['id']}/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.data == qr.svg(link["url"])
    assert decode(qr.png(link["url"])) == link["url"]


def test_another_school_and_a_read_only_role_get_no_code(client, link):
    people.sign_in(client, link["other"])
    for kind in ("svg", "png"):
        assert client.get(f"/enrollment-tokens/{link['id']}/qr.{kind}").status_code == 404
    people.sign_in(client, link["auditor"])
    for kind in ("svg", "png"):
        assert client.get(f"/enrollment-tokens/{link['id']}/qr.{kind}").status_code == 403
