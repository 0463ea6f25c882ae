"""The service account key file Google Cloud issues (``type: service_account``, JSON).

Flokk reads it once when central IT connects a domain, checks it is whole
(every field the token request needs, an RSA private key that loads, an
https token endpoint) and keeps it sealed; ``ServiceAccountKey.info`` is what
``google.oauth2.service_account`` takes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from mdm_protocol.google.errors import KeyFileError

#: Largest key file accepted (Google's are about 2.3 kB).
MAX_KEY_BYTES = 16 * 1024
_REQUIRED = ("type", "project_id", "private_key_id", "private_key", "client_email", "client_id", "token_uri")


@dataclass(frozen=True)
class ServiceAccountKey:
    """A checked service account key; the private key is never printed."""

    project_id: str
    private_key_id: str
    client_email: str
    client_id: str
    token_uri: str
    info: Mapping[str, Any] = field(repr=False)

    def to_json(self) -> bytes:
        return json.dumps(dict(self.info), sort_keys=True).encode("utf-8")


def parse_key(raw: bytes | str, *, checked: bool = False) -> ServiceAccountKey:
    """Check a key file; ``KeyFileError`` says what is wrong with it. ``checked``: a key already
    checked once (reopened from storage) skips the slow RSA consistency check."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_KEY_BYTES:
        raise KeyFileError(f"the key file is larger than {MAX_KEY_BYTES} bytes: not a service account key")
    try:
        info = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise KeyFileError("the key file is not JSON: download the service account's key as JSON from Google Cloud") from None
    if not isinstance(info, dict):
        raise KeyFileError("the key file is not a JSON object")
    if info.get("type") != "service_account":
        raise KeyFileError("the key file is not a service account key (its \"type\" must be \"service_account\")")
    missing = [name for name in _REQUIRED if not isinstance(info.get(name), str) or not info[name].strip()]
    if missing:
        raise KeyFileError(f"the key file lacks {', '.join(missing)}")
    if any("\x00" in info[name] for name in _REQUIRED):
        raise KeyFileError("the key file holds NUL characters")
    try:
        key = load_pem_private_key(info["private_key"].encode("utf-8"), password=None,
                                   unsafe_skip_rsa_key_validation=checked)
    except (ValueError, TypeError):
        raise KeyFileError("the key file's private_key is not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFileError("the key file's private_key is not an RSA key (Google signs service account tokens with RS256)")
    token = urlsplit(info["token_uri"])
    if token.scheme != "https" or not token.hostname:
        raise KeyFileError("the key file's token_uri is not an https:// URL")
    if "@" not in info["client_email"]:
        raise KeyFileError("the key file's client_email is not an email address")
    return ServiceAccountKey(
        project_id=info["project_id"],
        private_key_id=info["private_key_id"],
        client_email=info["client_email"],
        client_id=info["client_id"],
        token_uri=info["token_uri"],
        info=info,
    )
