"""`flokk ca`, `flokk apns` and `flokk enroll token` as central IT uses them."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from app.crypto import SecretBox
from app.models import AuditEvent
from app.models.pki import CertificateAuthorityRecord, PushCertificateRecord
from app.services.access import cli_principal
from app.services.fleet import schools
from app.services.fleet.schools import ensure_organisation
from app.services.pki import certificate_authority
from mdm_protocol.ca import CertificateAuthority
from tests.conftest import TEST_SECRET_KEY
from tests.support import count_rows
from tests.support.pki import PUSH_TOPIC, push_key, shared_ca, write_push_files


@pytest.fixture
def initialised(db, cli):
    """What `flokk init` and `flokk school add` leave behind, without init's slow RSA-3072 and
    argon2 work (test_init_creates_the_ca_once_with_its_key_sealed runs the real thing)."""
    principal = cli_principal()
    with db.unit_of_work() as session:
        ensure_organisation(session, "Bergvik kommune")
        certificate_authority.import_ca(session, principal, shared_ca().certificate_pem(), shared_ca().key_pem())
        schools.create_school(session, principal, name="Nordby skole", code="nordby")


def fails(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and message in result.output, result.output


# ------------------------------------------------------------------------- ca


def test_init_creates_the_ca_once_with_its_key_sealed(cli, db):
    first = cli("init", "--organisation", "Bergvik kommune")
    assert first.exit_code == 0, first.output
    assert "Created Flokk's certificate authority O=Bergvik kommune,CN=Bergvik kommune Flokk CA" in first.output
    assert "certificate authority exists already" in cli("init").output
    assert count_rows(db, "certificate_authorities") == 1
    with db.session() as session:
        record = session.scalars(select(CertificateAuthorityRecord)).one()
        assert b"PRIVATE KEY" not in record.key_sealed
        key_pem = SecretBox(TEST_SECRET_KEY).open(record.key_sealed, label="ca-key")
        key = serialization.load_pem_private_key(key_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 3072
        certificate = x509.load_pem_x509_certificate(record.certificate_pem.encode())
        assert certificate.public_key().public_numbers() == key.public_key().public_numbers()


@pytest.mark.parametrize(("organisation", "name"), [
    ("Bergvik kommune", "Bergvik kommune Flokk CA"),
    ("Flokk", "Flokk CA"),
    ("Flokk Vestland", "Flokk Vestland CA"),
])
def test_the_generated_ca_is_named_after_the_organisation_once(organisation, name):
    assert certificate_authority.ca_name(organisation) == name


def test_ca_show(cli, initialised):
    shown = cli("ca", "show")
    assert shown.exit_code == 0
    assert "Subject:      O=Bergvik kommune,CN=Bergvik kommune Flokk CA" in shown.output
    assert re.search(r"SHA-256:      ([0-9A-F]{2}:){31}[0-9A-F]{2}", shown.output)
    assert re.search(r"Valid until:  20\d\d-\d\d-\d\d", shown.output)
    pem = cli("ca", "show", "--pem").output
    certificate = x509.load_pem_x509_certificate(pem.encode())
    assert certificate.subject.rfc4514_string() == "O=Bergvik kommune,CN=Bergvik kommune Flokk CA"


def test_ca_show_before_init(cli, db):
    fails(cli("ca", "show"), "run `flokk init`")


def write_ca(tmp_path, authority, password: bytes | None = None):
    (tmp_path / "ca.pem").write_bytes(authority.certificate_pem())
    (tmp_path / "ca.key").write_bytes(authority.key_pem(password))
    return str(tmp_path / "ca.pem"), str(tmp_path / "ca.key")


def test_ca_import_needs_replace_and_retires_the_old_one(cli, db, initialised, tmp_path):
    authority = CertificateAuthority.create("Bergvik IT root", key_size=2048)
    (tmp_path / "pw").write_text("open sesame\n")
    cert, key = write_ca(tmp_path, authority, b"open sesame")
    fails(cli("ca", "import", cert, key, "--key-password-file", str(tmp_path / "pw")), "--replace")
    result = cli("ca", "import", cert, key, "--key-password-file", str(tmp_path / "pw"), "--replace")
    assert result.exit_code == 0, result.output
    assert "Imported CA" in result.output
    assert authority.certificate_pem().decode().strip() == cli("ca", "show", "--pem").output.strip()
    with db.session() as session:
        records = session.scalars(select(CertificateAuthorityRecord).order_by(CertificateAuthorityRecord.id)).all()
        assert [r.retired_at is not None for r in records] == [True, False]
        assert records[1].subject == "CN=Bergvik IT root"
    fails(cli("ca", "import", cert, key, "--key-password-file", str(tmp_path / "pw"), "--replace"), "already")


def test_ca_import_refuses_garbage(cli, db, initialised, tmp_path):
    _, key = write_ca(tmp_path, shared_ca())
    (tmp_path / "x.pem").write_text("hello")
    fails(cli("ca", "import", str(tmp_path / "x.pem"), key, "--replace"), "PEM or DER")


def test_ca_import_refuses_a_key_of_another_ca(cli, db, initialised, tmp_path):
    cert, _ = write_ca(tmp_path, shared_ca())
    other = CertificateAuthority.create("Other", key_size=2048)
    (tmp_path / "other.key").write_bytes(other.key_pem())
    fails(cli("ca", "import", cert, str(tmp_path / "other.key"), "--replace"), "does not belong")
    assert count_rows(db, "certificate_authorities") == 1


def test_ca_import_refuses_an_encrypted_key_without_password(cli, db, initialised, tmp_path):
    cert, key = write_ca(tmp_path, shared_ca(), b"secret")
    fails(cli("ca", "import", cert, key, "--replace"), "CA key")


# ----------------------------------------------------------------------- apns


def test_apns_import_and_show(cli, db, initialised, tmp_path):
    cert, key = write_push_files(tmp_path, push_key())
    result = cli("apns", "import", str(cert), str(key))
    assert result.exit_code == 0, result.output
    assert PUSH_TOPIC in result.output
    shown = cli("apns", "show").output
    assert f"Topic:        {PUSH_TOPIC}" in shown and "Valid until:" in shown
    with db.session() as session:
        record = session.scalars(select(PushCertificateRecord)).one()
        assert b"PRIVATE KEY" not in record.key_sealed
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "push_certificate.import")).one()
        assert event.details["topic"] == PUSH_TOPIC
        assert "PRIVATE" not in json.dumps(event.details)


def test_apns_renewal_keeps_the_topic(cli, db, initialised, tmp_path):
    cert, key = write_push_files(tmp_path / "first", push_key())
    assert cli("apns", "import", str(cert), str(key)).exit_code == 0
    renewed = write_push_files(tmp_path / "renewed")
    assert cli("apns", "import", *map(str, renewed)).exit_code == 0
    other = write_push_files(tmp_path / "other", uid="com.apple.mgmt.External.00000000-0000-0000-0000-000000000000")
    fails(cli("apns", "import", *map(str, other)), "differs from the current")
    assert cli("apns", "import", *map(str, other), "--new-topic").exit_code == 0
    with db.session() as session:
        rows = session.scalars(select(PushCertificateRecord).order_by(PushCertificateRecord.id)).all()
        assert [r.replaced_at is None for r in rows] == [False, False, True]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"uid": None}, "not an MDM push certificate"),
        ({"uid": "com.example.app"}, "not an MDM push certificate"),
        (
            {"not_before": dt.datetime(2020, 1, 1, tzinfo=dt.UTC), "not_after": dt.datetime(2021, 1, 1, tzinfo=dt.UTC)},
            "expired on 2021-01-01",
        ),
    ],
)
def test_apns_import_refuses_what_is_not_a_usable_push_certificate(cli, db, initialised, tmp_path, options, message):
    cert, key = write_push_files(tmp_path, push_key(), **options)
    fails(cli("apns", "import", str(cert), str(key)), message)
    assert count_rows(db, "push_certificates") == 0


def test_apns_import_refuses_a_key_that_does_not_match(cli, db, initialised, tmp_path):
    cert, _ = write_push_files(tmp_path / "a", push_key())
    _, other_key = write_push_files(tmp_path / "b")
    fails(cli("apns", "import", str(cert), str(other_key)), "does not belong")


def test_apns_show_before_import(cli, initialised):
    fails(cli("apns", "show"), "flokk apns import")


# --------------------------------------------------------------- enroll token


def test_token_create_list_url_revoke(cli, db, initialised):
    created = cli("enroll", "token", "create", "--school", "nordby", "--expires", "30d", "--max-uses", "25",
                  "--label", "cart 2")
    assert created.exit_code == 0, created.output
    url = re.search(r"https://flokk\.test/enroll/[A-Za-z0-9_-]{32}", created.output).group(0)
    assert "Max uses:  25" in created.output
    listed = json.loads(cli("enroll", "token", "list", "--json").output)
    assert [(row["school"], row["state"], row["uses"], row["label"]) for row in listed] == [
        ("nordby", "active", "0/25", "cart 2")
    ]
    expires = dt.datetime.strptime(listed[0]["expires"], "%Y-%m-%d %H:%M").replace(tzinfo=dt.UTC)
    assert dt.timedelta(days=29, hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=30)
    assert cli("enroll", "token", "url", str(listed[0]["id"])).output.strip() == url
    assert cli("enroll", "token", "revoke", str(listed[0]["id"])).exit_code == 0
    assert json.loads(cli("enroll", "token", "list", "--json").output)[0]["state"] == "revoked"
    fails(cli("enroll", "token", "revoke", str(listed[0]["id"])), "already revoked")
    with db.session() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.action.like("enrollment_token.%")).order_by(AuditEvent.id))]
        assert actions == ["enrollment_token.create", "enrollment_token.revoke"]
        token_row = session.scalars(select(AuditEvent).where(AuditEvent.action == "enrollment_token.create")).one()
        assert url.rsplit("/", 1)[1] not in json.dumps(token_row.details)


def test_token_without_expiry_or_limit(cli, initialised):
    created = cli("enroll", "token", "create", "--school", "nordby")
    assert "Expires:   never" in created.output and "Max uses:  no limit" in created.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--school", "nowhere"], "no school with code 'nowhere'"),
        (["--school", "nordby", "--expires", "soon"], "expires"),
        (["--school", "nordby", "--expires", "0d"], "longer than zero"),
        (["--school", "nordby", "--expires", "99999w"], "five years"),
        (["--school", "nordby", "--max-uses", "0"], "max_uses"),
        (["--school", "nordby", "--group", "4B"], "no group '4B'"),
        (["--school", "bad code!"], "school"),
    ],
)
def test_token_create_refuses_bad_input(cli, db, initialised, args, message):
    fails(cli("enroll", "token", "create", *args), message)
    assert count_rows(db, "enrollment_tokens") == 0


def test_unknown_token_ids(cli, initialised):
    fails(cli("enroll", "token", "url", "999"), "no enrollment token 999")
    fails(cli("enroll", "token", "revoke", "999"), "no enrollment token 999")
