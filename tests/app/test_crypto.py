import pytest

from app.crypto import SecretBox, SecretError

KEY = "a" * 40


def test_sealed_secrets_open_with_the_same_key_and_label():
    box = SecretBox(KEY)
    sealed = box.seal(b"ca private key", label="ca-key")
    assert b"ca private key" not in sealed
    assert box.open(sealed, label="ca-key") == b"ca private key"


def test_a_secret_sealed_for_one_purpose_does_not_open_for_another():
    box = SecretBox(KEY)
    with pytest.raises(SecretError):
        box.open(box.seal(b"x", label="ca-key"), label="push-key")


def test_a_changed_master_key_gives_a_clear_error():
    sealed = SecretBox(KEY).seal(b"x", label="ca-key")
    with pytest.raises(SecretError, match="FLOKK_SECRET_KEY differs"):
        SecretBox("b" * 40).open(sealed, label="ca-key")


def test_damaged_ciphertext_is_refused():
    box = SecretBox(KEY)
    sealed = bytearray(box.seal(b"x" * 32, label="l"))
    sealed[-1] ^= 1
    with pytest.raises(SecretError):
        box.open(bytes(sealed), label="l")
    with pytest.raises(SecretError):
        box.open(b"garbage", label="l")
