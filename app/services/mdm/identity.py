"""Who sent an MDM request: the device certificate behind ``Mdm-Signature`` or ``Client-Cert``.

Apple devices prove their identity on every check-in and command request in
one of two ways (Apple, "Sign MDM messages"; RFC 9440):

- ``Mdm-Signature``: a base64 detached CMS SignedData over the exact body,
  signed with the device identity from SCEP. Verified here with
  :func:`mdm_protocol.cms.verify` (as ``verify_detached`` does).
- ``Client-Cert``: when a TLS-terminating proxy did the mutual TLS, it passes
  the client certificate in this header (RFC 9440, a structured-field byte
  sequence ``:base64:``). Only believed from ``FLOKK_TRUSTED_PROXIES``.

Either way the certificate must be one Flokk's CA issued, not revoked and in
its validity (:func:`app.services.pki.certificates.identify`). Which device it may
speak for, and that one signature is accepted only once, are the MDM
service's rules (``mdm_protocol.service``). Behind a proxy doing mutual TLS
there is no signature to replay: the TLS session itself proved the key.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509
from sqlalchemy.orm import Session

from app.config import Settings
from app.forwarding import is_trusted_proxy
from app.errors import Unauthenticated
from app.services.pki import certificates
from app.services.pki.certificates import CertificateIdentity
from mdm_protocol import cms

log = logging.getLogger("flokk.mdm")

SIGNATURE_HEADER = "Mdm-Signature"
CLIENT_CERT_HEADER = "Client-Cert"
_MAX_HEADER = 16 * 1024


@dataclass(frozen=True)
class RequestIdentity:
    """Who signed a request, and which signature it was (None: mutual TLS at a trusted proxy)."""

    certificate: CertificateIdentity
    signature_id: bytes | None = None


def identify_request(
    session: Session,
    *,
    body: bytes,
    headers: Mapping[str, str],
    remote_addr: str | None,
    settings: Settings,
) -> RequestIdentity:
    """The trusted certificate identity of a request, or Unauthenticated/UntrustedCertificate."""
    certificate, signature_id = signer_certificate(body, headers, remote_addr, settings)
    return RequestIdentity(certificates.identify(session, certificate), signature_id)


def signer_certificate(
    body: bytes, headers: Mapping[str, str], remote_addr: str | None, settings: Settings
) -> tuple[x509.Certificate, bytes | None]:
    """The certificate that vouches for the request, with the signature's id when it was signed."""
    signature = headers.get(SIGNATURE_HEADER)
    if signature:
        return _from_signature(signature, body)
    client_cert = headers.get(CLIENT_CERT_HEADER)
    if client_cert:
        if is_trusted_proxy(remote_addr, settings.trusted_proxies):
            return _from_client_cert(client_cert), None
        log.warning("ignored a %s header from %s, which is not a trusted proxy", CLIENT_CERT_HEADER, remote_addr)
    raise Unauthenticated("the request carries no device identity (no Mdm-Signature header)")


def _from_signature(header: str, body: bytes) -> tuple[x509.Certificate, bytes]:
    if len(header) > _MAX_HEADER:
        raise Unauthenticated("the Mdm-Signature header is too large")
    try:
        der = base64.b64decode("".join(header.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Unauthenticated("the Mdm-Signature header is not base64") from None
    try:
        signed = cms.verify(der, content=body)
    except cms.CMSError as error:
        raise Unauthenticated(f"the Mdm-Signature does not verify: {error}") from None
    return signed.signer, signed.signature_id


def _from_client_cert(header: str) -> x509.Certificate:
    value = header.strip()
    if len(value) > _MAX_HEADER or len(value) < 3 or value[0] != ":" or value[-1] != ":":
        raise Unauthenticated("the Client-Cert header is not an RFC 9440 byte sequence (:base64:)")
    try:
        return x509.load_der_x509_certificate(base64.b64decode(value[1:-1], validate=True))
    except (binascii.Error, ValueError):
        raise Unauthenticated("the Client-Cert header does not hold a DER certificate") from None
