"""PKCS #10 certification requests (RFC 2986) as SCEP clients send them.

Apple's SCEP client writes ``version 2`` into its requests where RFC 2986
§4.1 demands 0 (see tests/fixtures/mdm-fixtures/micromdm+scep/testdata/
PKCSReq.der). ``cryptography`` refuses such a request outright, so this module
reads it with the version patched to 0 and checks the signature over the
bytes exactly as the device signed them.
"""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import csr as asn1_csr
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import AttributeOID

MIN_RSA_BITS = 2048
ALLOWED_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)


class CSRError(ValueError):
    """The bytes are not a certification request Flokk can read."""


class CSRRejected(ValueError):
    """A readable request that Flokk will not honour (bad signature, weak key)."""


@dataclass(frozen=True)
class CertificationRequest:
    """A decoded PKCS #10 request; :meth:`check` says whether it may be honoured."""

    der: bytes
    subject: x509.Name
    public_key: CertificatePublicKeyTypes
    challenge_password: str | None
    signature_valid: bool
    version: int

    def check(self) -> None:
        """Raise :class:`CSRRejected` unless the request is self-signed correctly with a strong key."""
        if not self.signature_valid:
            raise CSRRejected("the CSR's signature is not valid")
        check_public_key(self.public_key)


def load(der: bytes) -> CertificationRequest:
    """Decode a DER request (RFC 2986), tolerating Apple's non-zero version."""
    version = 0
    try:
        csr = x509.load_der_x509_csr(der)
        original_tbs = None
    except x509.InvalidVersion:
        csr, original_tbs, version = _load_with_patched_version(der)
    except ValueError:
        raise CSRError("not a PKCS #10 certificate request") from None
    try:
        subject = csr.subject
        public_key = csr.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise CSRError("the certificate request's subject or key cannot be read") from None
    return CertificationRequest(
        der=der,
        subject=subject,
        public_key=public_key,
        challenge_password=_challenge_password(csr),
        signature_valid=_signature_valid(csr, public_key, original_tbs),
        version=version,
    )


def check_public_key(key: object) -> None:
    """Raise :class:`CSRRejected` unless ``key`` is RSA of 2048+ bits or EC on a NIST curve."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise CSRRejected(f"the RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} are needed")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ALLOWED_CURVES):
            raise CSRRejected(f"the curve {key.curve.name} is not accepted")
    else:
        raise CSRRejected("the key must be RSA or EC")


def _load_with_patched_version(der: bytes) -> tuple[x509.CertificateSigningRequest, bytes, int]:
    try:
        request = asn1_csr.CertificationRequest.load(der, strict=True)
        info = request["certification_request_info"]
        original_tbs = info.dump()
        version_der = info["version"].dump()
        version = int(info["version"].native if isinstance(info["version"].native, int) else -1)
    except (ValueError, TypeError):
        raise CSRError("not a PKCS #10 certificate request") from None
    # The version INTEGER is the first element of certificationRequestInfo.
    offset = len(request.dump()) - len(request.contents) + len(original_tbs) - len(info.contents)
    if len(version_der) != 3 or der[offset : offset + 3] != version_der or not 0 < version < 128:
        raise CSRError("the certificate request has an unsupported version")
    patched = der[:offset] + b"\x02\x01\x00" + der[offset + 3 :]
    try:
        return x509.load_der_x509_csr(patched), original_tbs, version
    except ValueError:
        raise CSRError("not a PKCS #10 certificate request") from None


def _signature_valid(
    csr: x509.CertificateSigningRequest, public_key: CertificatePublicKeyTypes, original_tbs: bytes | None
) -> bool:
    try:
        if original_tbs is None:
            return csr.is_signature_valid
        hash_algorithm = csr.signature_hash_algorithm
        if hash_algorithm is None:
            return False
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(csr.signature, original_tbs, csr.signature_algorithm_parameters, hash_algorithm)  # type: ignore[arg-type]
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(csr.signature, original_tbs, ec.ECDSA(hash_algorithm))
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def _challenge_password(csr: x509.CertificateSigningRequest) -> str | None:
    try:
        value = csr.attributes.get_attribute_for_oid(AttributeOID.CHALLENGE_PASSWORD).value
    except x509.AttributeNotFound:
        return None
    except ValueError:
        raise CSRError("the certificate request's attributes cannot be read") from None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise CSRError("the challenge password is not UTF-8 text") from None
