"""A new school's ICT contact gets a starter pack: a welcome letter and guides written from what
Flokk knows about the school, including what central IT has locked."""

from __future__ import annotations

import pytest

from app import create_app
from app.services import policy
from app.services.access import Role, cli_principal
from app.services.pki import certificate_authority
from profiles import Change
from tests.support import factories, people
from tests.support.pki import shared_ca


@pytest.fixture
def nordby(db):
    with db.session() as session:
        certificate_authority.import_ca(session, cli_principal(), shared_ca().certificate_pem(), shared_ca().key_pem())
        school = factories.school(session, "nordby", "Nordby skole")
        factories.school(session, "sorby", "Sørby skole")
        ict = people.admin(session, [(Role.SCHOOL_ICT, school.id)])
        session.commit()
    with db.unit_of_work() as session:
        policy.change(session, cli_principal(), "baseline", [Change.set("restrictions", "allowCamera", False, lock=True),
                                                             Change.set("passcode", "minLength", 6)])
    return ict


def test_the_ict_contact_reads_the_pack_in_norwegian_with_the_locked_settings(client, nordby):
    people.sign_in(client, nordby)
    assert 'href="/schools/nordby/starter-pack"' in client.get("/schools/nordby").get_data(as_text=True)
    pack = client.get("/schools/nordby/starter-pack", headers={"Accept-Language": "nb"}).get_data(as_text=True)
    assert "Velkommen til Flokk, Nordby skole" in pack and "Åpne https://flokk.test/ i en nettleser." in pack
    locked = pack[pack.index("Dette har sentral IT låst"):]
    assert "allowCamera" in locked and "minLength" not in locked  # a default, not a lock
    assert "Logg inn med" not in pack  # no single sign-on configured


def test_the_pack_names_the_single_sign_on_in_english(settings, db, nordby):
    sso_app = create_app(settings.replace(oidc_feide_issuer="https://auth.dataporten.no", oidc_feide_client_id="flokk",
                                          oidc_feide_client_secret="secret"))
    sso_app.config["TESTING"] = True
    sso_app.extensions["flokk"].db = db
    client = sso_app.test_client()
    people.sign_in(client, nordby)
    pack = client.get("/schools/nordby/starter-pack", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Welcome to Flokk, Nordby skole" in pack
    assert "Sign in with Feide, the same login as for your other school services." in pack


def test_another_schools_pack_is_not_found(client, nordby):
    people.sign_in(client, nordby)
    assert client.get("/schools/sorby/starter-pack").status_code == 404


# --- the PDF ------------------------------------------------------------------------------


def pdf_text_and_codes(document: bytes) -> tuple[str, list[str]]:
    """The PDF's text, and what every QR code on its pages reads (rendered at 150 dpi, read with zxing-cpp)."""
    import pypdfium2
    import zxingcpp

    pdf = pypdfium2.PdfDocument(document)
    text, codes = [], []
    for page in pdf:
        text.append(page.get_textpage().get_text_range())
        codes += [found.text for found in zxingcpp.read_barcodes(page.render(scale=150 / 72).to_pil())]
    return "\n".join(text), codes


def enrollment_link(db, school_code="nordby", **options):
    from app.services.mdm import enrollment

    with db.unit_of_work() as session:
        created = enrollment.create_token(session, cli_principal(), school_code=school_code, **options)
        return created.token.id, created.url


def test_the_pdf_carries_the_school_the_link_and_a_qr_code_that_reads_back_to_it(client, db, nordby):
    _, url = enrollment_link(db, label="Trolley 1")
    people.sign_in(client, nordby)
    assert 'href="/schools/nordby/starter-pack.pdf"' in client.get("/schools/nordby/starter-pack").get_data(as_text=True)
    response = client.get("/schools/nordby/starter-pack.pdf", headers={"Accept-Language": "nb"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text, codes = pdf_text_and_codes(response.data)
    assert "Velkommen til Flokk, Nordby skole" in text
    assert url in text and codes == [url]
    assert "Trolley 1" in text
    # Locked settings in words, with Apple's title; a default is not listed.
    assert "Allow Camera Use — Nei" in text and "minLength" not in text


def test_the_page_shows_the_same_code_and_the_contact(settings, db, nordby):
    _, url = enrollment_link(db)
    contact_app = create_app(settings.replace(central_it_contact="IT-servicedesk, 33 00 00 00"))
    contact_app.config["TESTING"] = True
    contact_app.extensions["flokk"].db = db
    client = contact_app.test_client()
    people.sign_in(client, nordby)
    page = client.get("/schools/nordby/starter-pack", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Your contact at central IT: IT-servicedesk, 33 00 00 00" in page and url in page and "<svg" in page
    text, _codes = pdf_text_and_codes(client.get("/schools/nordby/starter-pack.pdf", headers={"Accept-Language": "en"}).data)
    assert "Your contact at central IT: IT-servicedesk, 33 00 00 00" in text and "Allow Camera Use — No" in text


def test_a_read_only_role_gets_the_pack_without_the_link(client, db, nordby):
    enrollment_link(db)
    with db.session() as session:
        auditor = people.admin(session, [(Role.AUDITOR, None)])
        session.commit()
    people.sign_in(client, auditor)
    text, codes = pdf_text_and_codes(client.get("/schools/nordby/starter-pack.pdf", headers={"Accept-Language": "en"}).data)
    assert "Welcome to Flokk, Nordby skole" in text and codes == [] and "/enroll/" not in text
    assert "create an enrollment link for Nordby skole" in text


def test_a_link_of_another_school_or_none_at_all(client, db, nordby):
    theirs, _ = enrollment_link(db, school_code="sorby")
    people.sign_in(client, nordby)
    assert client.get(f"/schools/nordby/starter-pack.pdf?link={theirs}").status_code == 404
    assert client.get("/schools/nordby/starter-pack.pdf?link=nope").status_code == 422
    assert client.get("/schools/sorby/starter-pack.pdf").status_code == 404


def test_the_cli_writes_the_pdf(cli, db, nordby, tmp_path):
    link_id, url = enrollment_link(db)
    out = tmp_path / "nordby.pdf"
    result = cli("school", "starter-pack", "nordby", "--out", str(out), "--language", "en", "--link", str(link_id))
    assert result.exit_code == 0, result.output
    assert "with the enrollment link" in result.output
    text, codes = pdf_text_and_codes(out.read_bytes())
    assert "Welcome to Flokk, Nordby skole" in text and url in text and codes == [url]
    missing = cli("school", "starter-pack", "nowhere", "--out", str(tmp_path / "x.pdf"))
    assert missing.exit_code == 1 and "Error" in missing.output
