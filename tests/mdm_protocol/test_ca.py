"""Flokk's CA: creation, loading with checks, issuing from a CSR (verified with OpenSSL)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mdm_protocol import ca
from mdm_protocol.certificates import display_fingerprint, fingerprint
from mdm_protocol.csr import CSRRejected

from .conftest import pem, self_signed


@pytest.fixture(scope="module")
def authority() -> ca.CertificateAuthority:
    return ca.CertificateAuthority.create("Flokk Test CA", organization="Gemeente Test", key_size=2048)


def name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def test_created_ca_is_a_self_signed_rsa_ca(authority):
    certificate = authority.certificate
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Flokk Test CA"
    assert certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Gemeente Test"
    assert certificate.issuer == certificate.subject
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and usage.digital_signature and usage.key_encipherment
    assert certificate.not_valid_after_utc - certificate.not_valid_before_utc > dt.timedelta(days=3650)
    certificate.verify_directly_issued_by(certificate)
    authority.check()


def test_issued_certificate_chains_to_the_ca_per_openssl(authority, rsa_keys, tmp_path, openssl):
    certificate = authority.issue(rsa_keys[2].public_key(), name("iPad of class 4B"))
    assert certificate.subject == name("iPad of class 4B")
    assert certificate.public_key().public_numbers() == rsa_keys[2].public_key().public_numbers()
    assert authority.issued(certificate)
    (tmp_path / "ca.pem").write_bytes(authority.certificate_pem())
    (tmp_path / "device.pem").write_bytes(pem(certificate))
    out = openssl("verify", "-CAfile", "ca.pem", "-purpose", "sslclient", "device.pem")
    assert b"device.pem: OK" in out.stdout


def test_issued_certificate_is_a_client_identity_only(authority, rsa_keys):
    certificate = authority.issue(rsa_keys[2].public_key(), name("d"), lifetime=dt.timedelta(days=30))
    extensions = certificate.extensions
    assert not extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment and not usage.key_cert_sign
    assert list(extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    aki = extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = authority.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert dt.timedelta(days=30) <= lifetime <= dt.timedelta(days=30, minutes=6)


def test_serials_are_random_and_unique(authority, rsa_keys):
    serials = {authority.issue(rsa_keys[2].public_key(), name("d")).serial_number for _ in range(5)}
    assert len(serials) == 5
    assert all(0 < serial < 2**159 for serial in serials)
    assert authority.issue(rsa_keys[2].public_key(), name("d"), serial=42).serial_number == 42


def test_certificate_never_outlives_the_ca(rsa_keys):
    short = ca.CertificateAuthority.create("Short CA", key_size=2048, lifetime=dt.timedelta(days=10))
    certificate = short.issue(rsa_keys[2].public_key(), name("d"), lifetime=dt.timedelta(days=700))
    assert certificate.not_valid_after_utc == short.certificate.not_valid_after_utc


def test_ec_key_gets_a_certificate_without_key_encipherment(authority):
    certificate = authority.issue(ec.generate_private_key(ec.SECP256R1()).public_key(), name("d"))
    assert not certificate.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment


def test_weak_keys_get_no_certificate(authority):
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(CSRRejected, match="1024 bits"):
        authority.issue(weak.public_key(), name("d"))
    with pytest.raises(CSRRejected, match="curve"):
        authority.issue(ec.generate_private_key(ec.SECP224R1()).public_key(), name("d"))


def test_issued_refuses_certificates_of_others(authority, rsa_keys):
    other = ca.CertificateAuthority.create("Flokk Test CA", key_size=2048)  # same name, other key
    foreign = other.issue(rsa_keys[2].public_key(), name("d"))
    assert not authority.issued(foreign)
    assert not authority.issued(self_signed(rsa_keys[2], "device", ca=False))


def test_pem_round_trip_with_password(authority):
    key_pem = authority.key_pem(b"correct horse")
    assert b"ENCRYPTED" in key_pem
    loaded = ca.CertificateAuthority.from_pem(authority.certificate_pem(), key_pem, password=b"correct horse")
    assert loaded.certificate == authority.certificate
    assert loaded.fingerprint == fingerprint(authority.certificate) == authority.certificate.fingerprint(
        hashes.SHA256()
    ).hex()
    assert display_fingerprint(authority.certificate).count(":") == 31
    with pytest.raises(ca.CAError, match="password"):
        ca.CertificateAuthority.from_pem(authority.certificate_pem(), key_pem, password=b"wrong")
    with pytest.raises(ca.CAError):
        ca.CertificateAuthority.from_pem(authority.certificate_pem(), key_pem)
    der = authority.certificate_der()
    assert ca.CertificateAuthority.from_pem(der, authority.key_pem()).certificate == authority.certificate


def test_import_refuses_what_is_not_a_usable_ca(authority, rsa_keys):
    key = rsa_keys[2]
    unencrypted = authority.key_pem()
    with pytest.raises(ca.CAError, match="does not belong"):
        ca.CertificateAuthority.from_pem(authority.certificate_pem(), ca.CertificateAuthority(
            authority.certificate, key).key_pem())
    with pytest.raises(ca.CAError, match="not a CA"):
        key_pem = ca.CertificateAuthority(self_signed(key, "leaf", ca=False), key).key_pem()
        ca.CertificateAuthority.from_pem(pem(self_signed(key, "leaf", ca=False)), key_pem)
    with pytest.raises(ca.CAError, match="PEM or DER"):
        ca.CertificateAuthority.from_pem(b"hello", unencrypted)
    with pytest.raises(ca.CAError, match="cannot be read"):
        ca.CertificateAuthority.from_pem(authority.certificate_pem(), b"-----BEGIN PRIVATE KEY-----\nAA==\n")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ca.CAError, match="RSA"):
        ca.CertificateAuthority.from_pem(pem(self_signed(ec_key, "ec ca")), ec_pem)


def test_import_refuses_an_expired_ca(rsa_keys):
    key = rsa_keys[2]
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Old CA")])
    old = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(dt.datetime(2015, 1, 1, tzinfo=dt.timezone.utc))
        .not_valid_after(dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(ca.CAError, match="expired on 2020-01-01"):
        ca.CertificateAuthority.from_pem(pem(old), ca.CertificateAuthority(old, key).key_pem())


def test_create_refuses_weak_keys_and_empty_names():
    with pytest.raises(ca.CAError):
        ca.CertificateAuthority.create("x", key_size=1024)
    with pytest.raises(ca.CAError):
        ca.CertificateAuthority.create("  ")


def test_server_certificate_for_tls(authority, tmp_path, openssl):
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = authority.issue_server(key.public_key(), ["mdm.example.org", "localhost", "127.0.0.1"])
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["mdm.example.org", "localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert list(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH
    ]
    assert certificate.not_valid_after_utc - certificate.not_valid_before_utc <= dt.timedelta(days=397, minutes=6)
    (tmp_path / "ca.pem").write_bytes(authority.certificate_pem())
    (tmp_path / "server.pem").write_bytes(pem(certificate))
    out = openssl("verify", "-CAfile", "ca.pem", "-purpose", "sslserver", "-verify_hostname", "mdm.example.org",
                  "server.pem")
    assert b"server.pem: OK" in out.stdout
    with pytest.raises(ca.CAError):
        authority.issue_server(key.public_key(), [])


def test_an_imported_ca_without_subject_key_identifier_still_issues(rsa_keys, tmp_path, openssl):
    key = rsa_keys[1]
    subject = name("Old-style CA")
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    authority = ca.CertificateAuthority.from_pem(pem(certificate), ca.CertificateAuthority(certificate, key).key_pem())
    issued = authority.issue(rsa_keys[2].public_key(), name("device"))
    assert authority.issued(issued)
    (tmp_path / "ca.pem").write_bytes(pem(certificate))
    (tmp_path / "leaf.pem").write_bytes(pem(issued))
    assert b"leaf.pem: OK" in openssl("verify", "-CAfile", "ca.pem", "leaf.pem").stdout

