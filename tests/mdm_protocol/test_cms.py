"""CMS SignedData / EnvelopedData, checked against OpenSSL as an independent implementation."""

from __future__ import annotations

import os

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import core

from mdm_protocol import cms

from .conftest import key_pem, pem

CONTENT = b"<?xml version='1.0'?><plist><dict/></plist>\n"


def write(tmp_path, name: str, data: bytes) -> str:
    (tmp_path / name).write_bytes(data)
    return name


# ------------------------------------------------------------- sign / verify


def test_attached_signature_round_trip(signer):
    certificate, key = signer
    message = cms.verify(cms.sign(CONTENT, certificate, key))
    assert message.content == CONTENT
    assert message.signer == certificate
    assert message.digest_algorithm == "sha256"
    # contentType, signingTime and messageDigest are signed
    assert {"1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4", "1.2.840.113549.1.9.5"} <= set(message.attributes)


def test_detached_signature_verifies_only_the_exact_content(signer):
    certificate, key = signer
    signature = cms.sign(CONTENT, certificate, key, detached=True)
    assert cms.verify_detached(signature, CONTENT) == certificate
    with pytest.raises(cms.InvalidSignature, match="detached"):
        cms.verify(signature)
    for changed in (CONTENT + b" ", CONTENT[:-1], b"x" + CONTENT[1:], b""):
        with pytest.raises(cms.InvalidSignature, match="message digest"):
            cms.verify_detached(signature, changed)


def test_attached_content_must_equal_given_content(signer):
    certificate, key = signer
    with pytest.raises(cms.InvalidSignature, match="differs"):
        cms.verify(cms.sign(CONTENT, certificate, key), content=b"other")


def test_extra_signed_attributes_are_returned(signer):
    certificate, key = signer
    extra = cms.Attribute.of("2.16.840.1.113733.1.9.7", core.PrintableString("tx-1"))
    message = cms.verify(cms.sign(b"", certificate, key, detached=True, attributes=[extra]), content=b"")
    assert core.PrintableString.load(message.attribute("2.16.840.1.113733.1.9.7")).native == "tx-1"
    assert message.attribute("1.2.3.4") is None


def test_extra_certificates_are_carried(signer, other_signer):
    certificate, key = signer
    message = cms.verify(cms.sign(CONTENT, certificate, key, extra_certificates=[other_signer[0]]))
    assert set(message.certificates) == {certificate, other_signer[0]}


def test_ec_keys_sign_and_verify(ec_signer, tmp_path, openssl):
    certificate, key = ec_signer
    signature = cms.sign(CONTENT, certificate, key, detached=True)
    assert cms.verify_detached(signature, CONTENT) == certificate
    write(tmp_path, "sig.der", signature)
    write(tmp_path, "content", CONTENT)
    write(tmp_path, "ca.pem", pem(certificate))
    openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.der", "-content", "content", "-CAfile", "ca.pem")


def test_signing_with_a_key_of_another_certificate_is_refused(signer, other_signer):
    with pytest.raises(cms.CMSError, match="does not belong"):
        cms.sign(CONTENT, signer[0], other_signer[1])


def test_openssl_verifies_our_attached_signature_and_rejects_a_changed_byte(signer, tmp_path, openssl):
    certificate, key = signer
    signature = bytearray(cms.sign(CONTENT, certificate, key))
    write(tmp_path, "ca.pem", pem(certificate))
    write(tmp_path, "good.der", bytes(signature))
    out = openssl("cms", "-verify", "-inform", "DER", "-in", "good.der", "-CAfile", "ca.pem")
    assert out.stdout == CONTENT
    where = bytes(signature).index(CONTENT) + 10
    signature[where] ^= 0x01
    write(tmp_path, "bad.der", bytes(signature))
    assert openssl("cms", "-verify", "-inform", "DER", "-in", "bad.der", "-CAfile", "ca.pem", check=False).returncode
    with pytest.raises(cms.InvalidSignature):
        cms.verify(bytes(signature))


@pytest.mark.parametrize("options", [(), ("-md", "sha1"), ("-md", "sha512"), ("-noattr",), ("-keyid",)])
def test_we_verify_openssl_detached_signatures(signer, tmp_path, openssl, options):
    """The shape of Apple's Mdm-Signature: detached, signer cert included."""
    certificate, key = signer
    write(tmp_path, "content", CONTENT)
    write(tmp_path, "cert.pem", pem(certificate))
    write(tmp_path, "key.pem", key_pem(key))
    openssl(
        "cms", "-sign", "-binary", "-outform", "DER", "-in", "content", "-signer", "cert.pem",
        "-inkey", "key.pem", "-out", "sig.der", *options,
    )
    signature = (tmp_path / "sig.der").read_bytes()
    assert cms.verify_detached(signature, CONTENT) == certificate
    with pytest.raises(cms.InvalidSignature):
        cms.verify_detached(signature, CONTENT.replace(b"dict", b"dicT"))


def test_signature_by_another_key_is_invalid(signer, other_signer):
    """Swap the included certificate for another one with the same issuer/serial: the maths must fail."""
    certificate, key = signer
    info = asn1_cms.ContentInfo.load(cms.sign(CONTENT, certificate, key, detached=True))
    forged_cert = cms._to_asn1_certificate(other_signer[0])
    info["content"]["signer_infos"][0]["sid"] = asn1_cms.SignerIdentifier(
        {
            "issuer_and_serial_number": {
                "issuer": forged_cert.issuer,
                "serial_number": forged_cert.serial_number,
            }
        }
    )
    info["content"]["certificates"] = [forged_cert]
    with pytest.raises(cms.InvalidSignature, match="signature does not match"):
        cms.verify_detached(info.dump(force=True), CONTENT)


def test_missing_signer_certificate_is_invalid(signer):
    certificate, key = signer
    info = asn1_cms.ContentInfo.load(cms.sign(CONTENT, certificate, key, detached=True))
    info["content"]["certificates"] = []
    with pytest.raises(cms.InvalidSignature, match="not included"):
        cms.verify_detached(info.dump(force=True), CONTENT)


@pytest.mark.parametrize(
    "garbage",
    [b"", b"\x30", b"\x30\x03\x02\x01\x01", os.urandom(300), b"MIIB" * 50],
    ids=["empty", "one-byte", "not-content-info", "random", "base64-text"],
)
def test_garbage_is_invalid_signature_not_a_crash(garbage):
    with pytest.raises(cms.InvalidSignature):
        cms.verify_detached(garbage, CONTENT)


def test_truncated_signature_is_invalid(signer):
    certificate, key = signer
    signature = cms.sign(CONTENT, certificate, key, detached=True)
    for cut in (1, 10, len(signature) // 2, len(signature) - 1):
        with pytest.raises(cms.InvalidSignature):
            cms.verify_detached(signature[:cut], CONTENT)


def test_enveloped_data_is_not_a_signature(signer):
    with pytest.raises(cms.InvalidSignature, match="expected CMS signed_data"):
        cms.verify_detached(cms.encrypt(CONTENT, [signer[0]]), CONTENT)


def test_invalid_signature_is_a_value_error():
    assert issubclass(cms.InvalidSignature, ValueError)


# ------------------------------------------------------- certificates only


def test_certificates_only_round_trip_and_openssl_reads_it(signer, other_signer, tmp_path, openssl):
    der = cms.certificates_only([signer[0], other_signer[0]])
    # a SET OF: DER fixes the order, so compare as a set
    assert set(cms.read_certificates_only(der)) == {signer[0], other_signer[0]}
    write(tmp_path, "certs.p7b", der)
    out = openssl("pkcs7", "-inform", "DER", "-in", "certs.p7b", "-print_certs", "-noout")
    assert b"Flokk test signer" in out.stdout and b"Someone else" in out.stdout


# -------------------------------------------------------- encrypt / decrypt


@pytest.mark.parametrize("algorithm", cms.ENCRYPTION_ALGORITHMS)
def test_encrypt_decrypt_round_trip(signer, algorithm):
    certificate, key = signer
    enveloped = cms.encrypt(CONTENT, [certificate], algorithm=algorithm)
    assert CONTENT not in enveloped
    info = asn1_cms.ContentInfo.load(enveloped)
    used = info["content"]["encrypted_content_info"]["content_encryption_algorithm"]["algorithm"].native
    assert used == algorithm
    assert cms.decrypt(enveloped, certificate, key) == CONTENT


@pytest.mark.parametrize("algorithm", ["des", "tripledes_3key", "rc2"])
def test_encrypt_refuses_weak_ciphers(signer, algorithm):
    with pytest.raises(cms.CMSError, match="refusing"):
        cms.encrypt(CONTENT, [signer[0]], algorithm=algorithm)


def test_openssl_decrypts_what_we_encrypt(signer, tmp_path, openssl):
    certificate, key = signer
    write(tmp_path, "env.der", cms.encrypt(CONTENT, [certificate], algorithm="aes128_cbc"))
    write(tmp_path, "cert.pem", pem(certificate))
    write(tmp_path, "key.pem", key_pem(key))
    out = openssl("cms", "-decrypt", "-inform", "DER", "-in", "env.der", "-inkey", "key.pem", "-recip", "cert.pem")
    assert out.stdout == CONTENT


@pytest.mark.parametrize(
    "options",
    [("-aes-128-cbc",), ("-aes-256-cbc",), ("-des3",), ("-aes-256-cbc", "-keyopt", "rsa_padding_mode:oaep")],
)
def test_we_decrypt_what_openssl_encrypts(signer, tmp_path, openssl, options):
    certificate, key = signer
    write(tmp_path, "content", CONTENT)
    write(tmp_path, "cert.pem", pem(certificate))
    openssl(
        "cms", "-encrypt", "-binary", "-outform", "DER", "-in", "content", "-out", "env.der",
        *options[:1], "-recip", "cert.pem", *options[1:],
    )
    assert cms.decrypt((tmp_path / "env.der").read_bytes(), certificate, key) == CONTENT


def test_decrypt_refuses_an_envelope_for_someone_else(signer, other_signer):
    enveloped = cms.encrypt(CONTENT, [other_signer[0]])
    with pytest.raises(cms.DecryptionError, match="not addressed"):
        cms.decrypt(enveloped, signer[0], signer[1])


def test_tampered_ciphertext_gives_one_generic_error(signer):
    certificate, key = signer
    enveloped = bytearray(cms.encrypt(CONTENT, [certificate]))
    enveloped[-1] ^= 0xFF  # last byte of the last cipher block: breaks the padding
    with pytest.raises(cms.DecryptionError, match="could not be decrypted"):
        cms.decrypt(bytes(enveloped), certificate, key)
    wrapped_key = bytearray(cms.encrypt(CONTENT, [certificate]))
    info = asn1_cms.ContentInfo.load(bytes(wrapped_key))
    ktri = info["content"]["recipient_infos"][0].chosen
    ktri["encrypted_key"] = os.urandom(256)
    with pytest.raises(cms.DecryptionError, match="could not be decrypted"):
        cms.decrypt(info.dump(force=True), certificate, key)


@pytest.mark.parametrize("garbage", [b"", os.urandom(64), b"\x30\x80"], ids=["empty", "random", "indefinite-length"])
def test_decrypt_garbage_is_a_decryption_error(signer, garbage):
    with pytest.raises(cms.DecryptionError):
        cms.decrypt(garbage, signer[0], signer[1])


# ------------------------------------------------------------- signature ids (replay checks)


def test_signature_id_is_the_same_for_every_copy_and_new_for_every_signing(signer, other_signer):
    import datetime as dt

    certificate, key = signer
    moment = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
    first = cms.sign(CONTENT, certificate, key, detached=True, signing_time=moment)
    again = cms.sign(CONTENT, certificate, key, detached=True, signing_time=moment)
    later = cms.sign(CONTENT, certificate, key, detached=True, signing_time=moment + dt.timedelta(seconds=1))
    by_other = cms.sign(CONTENT, other_signer[0], other_signer[1], detached=True, signing_time=moment)
    ids = [cms.verify(der, content=CONTENT).signature_id for der in (first, again, later, by_other)]
    assert len(ids[0]) == 32 and ids[0] == ids[1]  # RSA PKCS #1 v1.5 signs the same bytes the same way
    assert len(set(ids[1:])) == 3


def test_a_malleated_ecdsa_signature_keeps_its_id(ec_signer):
    """(r, s) and (r, n - s) both verify; a replay check keyed on the signature bytes would miss it."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

    certificate, key = ec_signer
    der = cms.sign(CONTENT, certificate, key, detached=True)
    info = asn1_cms.ContentInfo.load(der)
    signer_info = info["content"]["signer_infos"][0]
    r, s = decode_dss_signature(signer_info["signature"].native)
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256
    signer_info["signature"] = core.OctetString(encode_dss_signature(r, order - s))
    malleated = info.dump(force=True)
    assert malleated != der
    assert cms.verify(malleated, content=CONTENT).signature_id == cms.verify(der, content=CONTENT).signature_id
