"""Reading and checking central IT's MDM push certificate."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import hashes, serialization

from mdm_protocol import push_certificate
from mdm_protocol.push_certificate import PushCertificateError

from tests.support.pki import PUSH_TOPIC
from tests.support.pki import push_certificate as push_certificate_shaped

from .conftest import key_pem

TOPIC = PUSH_TOPIC
NOW = dt.datetime.now(dt.timezone.utc)
apple_like = push_certificate_shaped


def pem(certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_topic_expiry_and_fingerprint_are_read(rsa_keys):
    key = rsa_keys[0]
    certificate = apple_like(key)
    push = push_certificate.load(pem(certificate), key_pem(key))
    assert push.topic == TOPIC
    assert push.not_after == certificate.not_valid_after_utc
    assert push.fingerprint == certificate.fingerprint(hashes.SHA256()).hex()
    assert push.display_fingerprint.replace(":", "").lower() == push.fingerprint
    assert "APSP:" in push.subject
    assert not push.expires_within(dt.timedelta(days=30))
    assert push.expires_within(dt.timedelta(days=400))
    # the key survives a round trip (the app stores it encrypted)
    again = push_certificate.load(push.certificate_pem(), push.key_pem())
    assert again.topic == TOPIC


def test_der_certificate_and_encrypted_key(rsa_keys):
    key = rsa_keys[0]
    der = apple_like(key).public_bytes(serialization.Encoding.DER)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass phrase"),
    )
    assert push_certificate.load(der, encrypted, password=b"pass phrase").topic == TOPIC
    with pytest.raises(PushCertificateError, match="give its password"):
        push_certificate.load(der, encrypted)
    with pytest.raises(PushCertificateError, match="password is wrong"):
        push_certificate.load(der, encrypted, password=b"nope")


@pytest.mark.parametrize(
    "uid, message",
    [(None, "has no UID"), ("com.example.myapp", "does not start with 'com.apple.mgmt.'")],
)
def test_not_an_mdm_push_certificate(rsa_keys, uid, message):
    key = rsa_keys[0]
    with pytest.raises(PushCertificateError, match=message):
        push_certificate.load(pem(apple_like(key, uid=uid)), key_pem(key))


def test_expired_and_not_yet_valid(rsa_keys):
    key = rsa_keys[0]
    expired = apple_like(key, not_before=NOW - dt.timedelta(days=400), not_after=NOW - dt.timedelta(days=2))
    with pytest.raises(PushCertificateError, match="expired on"):
        push_certificate.load(pem(expired), key_pem(key))
    future = apple_like(key, not_before=NOW + dt.timedelta(days=2))
    with pytest.raises(PushCertificateError, match="not valid before"):
        push_certificate.load(pem(future), key_pem(key))


def test_key_of_another_certificate(rsa_keys):
    with pytest.raises(PushCertificateError, match="does not belong"):
        push_certificate.load(pem(apple_like(rsa_keys[0])), key_pem(rsa_keys[1]))


def test_garbage_files(rsa_keys):
    key = rsa_keys[0]
    with pytest.raises(PushCertificateError, match="not a PEM or DER certificate"):
        push_certificate.load(b"hello", key_pem(key))
    with pytest.raises(PushCertificateError, match="not a private key"):
        push_certificate.load(pem(apple_like(key)), b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(PushCertificateError, match="not a private key"):
        push_certificate.load(pem(apple_like(key)), pem(apple_like(key)))
