"""Encryption of secrets at rest (CA key, push key, tokens) with a key from FLOKK_SECRET_KEY.

AES-256-GCM with a per-purpose label as associated data, so a sealed CA key
cannot be swapped in where a push token is expected. Keys are derived with
HKDF so the master key is never used directly.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"v1"
_NONCE_BYTES = 12


class SecretError(ValueError):
    """A sealed secret cannot be opened: damaged, or FLOKK_SECRET_KEY changed."""


def derive_key(master: str, label: str, length: int = 32) -> bytes:
    """A sub-key of the master key for one purpose (encryption, session signing, ...)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"flokk", info=label.encode()).derive(master.encode())


class SecretBox:
    """Seals and opens secrets; the label binds a ciphertext to its purpose."""

    def __init__(self, master_key: str) -> None:
        self._aead = AESGCM(derive_key(master_key, "secrets-at-rest/v1"))

    def seal(self, plaintext: bytes, *, label: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, label.encode())

    def open(self, sealed: bytes, *, label: str) -> bytes:
        if not sealed.startswith(_VERSION) or len(sealed) < len(_VERSION) + _NONCE_BYTES + 16:
            raise SecretError(f"the stored {label} is not a sealed secret")
        nonce = sealed[len(_VERSION) : len(_VERSION) + _NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[len(_VERSION) + _NONCE_BYTES :], label.encode())
        except InvalidTag:
            raise SecretError(
                f"the stored {label} cannot be decrypted: FLOKK_SECRET_KEY differs from the key it was sealed with"
            ) from None
