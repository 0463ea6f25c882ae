"""The server token: S/MIME from ASM, decrypted to four OAuth credentials; every other file refused clearly."""

from __future__ import annotations

import base64
import email
import json

import pytest

from mdm_protocol.asm import token
from tests.fakes.dep import FakeDep, server_token_file
from tests.support.ade import smime_token


def test_a_token_made_as_asm_makes_it_decrypts_to_its_credentials(recipient):
    credentials = FakeDep.new_credentials()
    p7m = server_token_file(credentials, recipient[0])  # openssl smime, as ASM
    assert p7m.startswith(b"MIME-Version: 1.0") and b"smime.p7m" in p7m
    decrypted = token.decrypt(p7m, [recipient])
    assert (decrypted.consumer_key, decrypted.consumer_secret, decrypted.access_token, decrypted.access_secret) == (
        credentials.consumer_key, credentials.consumer_secret, credentials.access_token, credentials.access_secret)
    assert decrypted.access_token_expiry.replace(microsecond=0) == credentials.expiry.replace(microsecond=0)
    assert "CS_" not in repr(decrypted) and "AS_" not in repr(decrypted)


def test_the_bare_der_or_base64_body_is_accepted_too(recipient):
    p7m = smime_token(FakeDep.new_credentials().as_json(), recipient[0])
    body = email.message_from_bytes(p7m).get_payload(decode=True)
    assert token.decrypt(body, [recipient]).consumer_key.startswith("CK_")
    assert token.decrypt(base64.b64encode(body), [recipient]).consumer_key.startswith("CK_")


def test_the_right_key_is_found_among_several(recipient, other_signer):
    p7m = smime_token(FakeDep.new_credentials().as_json(), recipient[0])
    assert token.decrypt(p7m, [other_signer, recipient]).consumer_key.startswith("CK_")


def test_a_token_encrypted_to_another_key_says_which_key_to_upload(recipient, other_signer):
    p7m = smime_token(FakeDep.new_credentials().as_json(), other_signer[0])
    with pytest.raises(token.WrongKey, match="flokk asm key"):
        token.decrypt(p7m, [recipient])


def test_a_tampered_token_is_refused(recipient):
    p7m = smime_token(FakeDep.new_credentials().as_json(), recipient[0])
    message = email.message_from_bytes(p7m)
    der = bytearray(message.get_payload(decode=True))
    der[-20] ^= 0xFF  # inside the encrypted content
    with pytest.raises(token.TokenError):
        token.decrypt(bytes(der), [recipient])
    with pytest.raises(token.TokenError):
        token.decrypt(bytes(der[: len(der) // 2]), [recipient])


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("not json at all", "not JSON"),
        ('["a list"]', "not a JSON object"),
        (json.dumps({"consumer_key": "CK_1", "consumer_secret": "x", "access_token": "y"}), "access_secret"),
        (json.dumps({"consumer_key": "", "consumer_secret": "x", "access_token": "y", "access_secret": "z"}), "consumer_key"),
        (json.dumps({"consumer_key": "a", "consumer_secret": "x", "access_token": "y", "access_secret": "z",
                     "access_token_expiry": "next tuesday"}), "not a date"),
    ],
)
def test_a_token_whose_content_is_wrong_names_the_problem(recipient, content, reason):
    with pytest.raises(token.TokenError, match=reason):
        token.decrypt(smime_token(content, recipient[0]), [recipient])


@pytest.mark.parametrize("data", [b"", b"hello", b"Content-Type: text/plain\n\nhello", b"x" * 300_000, b"\x30\x03\x02\x01\x01"])
def test_files_that_are_no_token_are_refused(recipient, data):
    with pytest.raises(token.TokenError):
        token.decrypt(data, [recipient])
