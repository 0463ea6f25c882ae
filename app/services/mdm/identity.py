"""Who sent an MDM request: the device certificate behind ``Mdm-Signature`` or ``Client-Cert``.

Apple devices prove their identity on every check-in and command request in
one of two ways (Apple, "Sign MDM messages"; RFC 9440):

- ``Mdm-Signature``: a base64 detached CMS SignedData over the exact body,
  signed with the device identity from SCEP. Verified here with
  :func:`mdm_protocol.cms.verify_detached`.
- ``Client-Cert``: when a TLS-terminating proxy did the mutual TLS, it passes
  the client certificate in this header (RFC 9440, a structured-field byte
  sequence ``:base64:``). Only believed from ``FLOKK_TRUSTED_PROXIES``.

Either way the certificate must be one Flokk's CA issued, not revoked and in
its validity (:func:`app.services.pki.certificates.identify`). Which device it may
speak for is the MDM service's rule (``mdm_protocol.service``).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping

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


def identify_request(
    session: Session,
    *,
    body: bytes,
    headers: Mapping[str, str],
    remote_addr: str | None,
    settings: Settings,
) -> CertificateIdentity:
    """The trusted certificate identity of a request, or Unauthenticated/UntrustedCertificate."""
    certificate = signer_certificate(body, headers, remote_addr, settings)
    return certificates.identify(session, certificate)


def signer_certificate(
    body: bytes, headers: Mapping[str, str], remote_addr: str | None, settings: Settings
) -> x509.Certificate:
    signature = headers.get(SIGNATURE_HEADER)
    if signature:
        return _from_signature(signature, body)
    client_cert = headers.get(CLIENT_CERT_HEADER)
    if client_cert:
        if is_trusted_proxy(remote_addr, settings.trusted_proxies):
            return _from_client_cert(client_cert)
        log.warning("ignored a %s header from %s, which is not a trusted proxy", CLIENT_CERT_HEADER, remote_addr)
    raise Unauthenticated("the request carries no device identity (no Mdm-Signature header)")


def _from_signature(header: str, body: bytes) -> x509.Certificate:
    if len(header) > _MAX_HEADER:
        raise Unauthenticated("the Mdm-Signature header is too large")
    try:
        der = base64.b64decode("".join(header.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Unauthenticated("the Mdm-Signature header is not base64") from None
    try:
        return cms.verify_detached(der, body)
    except cms.CMSError as error:
        raise Unauthenticated(f"the Mdm-Signature does not verify: {error}") from None


def _from_client_cert(header: str) -> x509.Certificate:
    value = header.strip()
    if len(value) > _MAX_HEADER or len(value) < 3 or value[0] != ":" or value[-1] != ":":
        raise Unauthenticated("the Client-Cert header is not an RFC 9440 byte sequence (:base64:)")
    try:
        return x509.load_der_x509_certificate(base64.b64decode(value[1:-1], validate=True))
    except (binascii.Error, ValueError):
        raise Unauthenticated("the Client-Cert header does not hold a DER certificate") from None
