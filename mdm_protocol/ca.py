"""Flokk's own certificate authority: create one, load one, issue from a CSR.

Implements the parts of the RFC 5280 certificate profile Flokk needs: a
self-signed RSA root (RFC 5280 §4.2.1.9 basicConstraints, §4.2.1.3 keyUsage)
and end-entity device identity certificates for the key of a PKCS #10
request (RFC 2986) as SCEP delivers it (RFC 8894 §3.3.1). The same CA key decrypts
SCEP requests and signs SCEP replies and enrollment profiles, so its key usage
allows signing and key encipherment besides certificate signing.

Storage, revocation and which device holds a certificate live in the app; this
module only does the certificate work.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .certificates import fingerprint, key_matches, load_certificate
from .csr import MIN_RSA_BITS, check_public_key

DEFAULT_CA_KEY_SIZE = 3072
DEFAULT_CA_LIFETIME = dt.timedelta(days=20 * 365)
DEFAULT_DEVICE_LIFETIME = dt.timedelta(days=2 * 365)
#: The longest lifetime Apple platforms accept for a TLS server certificate.
TLS_SERVER_LIFETIME = dt.timedelta(days=397)
#: Tolerated clock difference between Flokk and a device.
CLOCK_SKEW = dt.timedelta(minutes=5)


class CAError(ValueError):
    """A CA certificate or key is unusable (wrong kind, mismatched, expired, unreadable)."""


def new_serial() -> int:
    """A random positive serial of up to 159 bits (RFC 5280 §4.1.2.2: at most 20 octets)."""
    return x509.random_serial_number()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class CertificateAuthority:
    """An RSA CA certificate with its private key (RFC 5280)."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey

    # ------------------------------------------------------------ create/load

    @classmethod
    def create(
        cls,
        common_name: str,
        *,
        organization: str | None = None,
        key_size: int = DEFAULT_CA_KEY_SIZE,
        lifetime: dt.timedelta = DEFAULT_CA_LIFETIME,
    ) -> CertificateAuthority:
        """Generate a new key and a self-signed root certificate."""
        if not common_name.strip():
            raise CAError("the CA needs a common name")
        if key_size < MIN_RSA_BITS:
            raise CAError(f"a CA key needs at least {MIN_RSA_BITS} bits")
        key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name.strip())]
        if organization:
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization.strip()))
        name = x509.Name(attributes)
        now = _now()
        public = key.public_key()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(new_serial())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + lifetime)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(certificate, key)

    @classmethod
    def from_pem(
        cls,
        certificate_pem: bytes,
        key_pem: bytes,
        *,
        password: bytes | None = None,
        trusted_key: bool = False,
    ) -> CertificateAuthority:
        """Load and check a CA: it must be an unexpired RSA CA certificate matching the key.

        ``trusted_key`` skips OpenSSL's slow RSA key consistency check (tens of
        milliseconds) for a key Flokk itself stored after checking it once.
        """
        try:
            certificate = load_certificate(certificate_pem)
        except ValueError as exc:
            raise CAError(f"the CA certificate: {exc}") from None
        try:
            key = serialization.load_pem_private_key(
                key_pem, password=password or None, unsafe_skip_rsa_key_validation=trusted_key
            )
        except TypeError as exc:
            raise CAError(f"the CA key: {exc}") from None
        except ValueError:
            raise CAError("the CA key cannot be read (not PEM, or the password is wrong)") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise CAError("the CA key must be RSA (SCEP clients encrypt to it)")
        authority = cls(certificate, key)
        authority.check()
        return authority

    def check(self) -> None:
        """Raise :class:`CAError` unless this is a usable CA."""
        try:
            constraints = self.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            constraints = None
        if constraints is None or not constraints.ca:
            raise CAError("the certificate is not a CA certificate (basicConstraints CA:TRUE missing)")
        try:
            usage = self.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            usage = None
        if usage is not None and not usage.key_cert_sign:
            raise CAError("the CA certificate's key usage does not allow signing certificates")
        if not isinstance(self.certificate.public_key(), rsa.RSAPublicKey) or not key_matches(
            self.certificate, self.private_key
        ):
            raise CAError("the private key does not belong to the CA certificate")
        if self.certificate.not_valid_after_utc <= _now():
            raise CAError(f"the CA certificate expired on {self.certificate.not_valid_after_utc:%Y-%m-%d}")

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def key_pem(self, password: bytes | None = None) -> bytes:
        """The key as PKCS #8 PEM, encrypted with ``password`` when one is given."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
        )
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.certificate)

    # ------------------------------------------------------------------ issue

    def issue(
        self,
        public_key: CertificatePublicKeyTypes,
        subject: x509.Name,
        *,
        lifetime: dt.timedelta = DEFAULT_DEVICE_LIFETIME,
        serial: int | None = None,
    ) -> x509.Certificate:
        """Issue a client identity certificate for ``public_key``.

        Takes a key and a subject, not a CSR: whatever extensions a request
        asks for are ignored on purpose (a device does not choose its own
        rights). Weak keys are refused; the certificate never outlives the CA.
        """
        return self._leaf(public_key, subject, lifetime, serial, ExtendedKeyUsageOID.CLIENT_AUTH)

    def issue_server(
        self,
        public_key: CertificatePublicKeyTypes,
        names: Sequence[str],
        *,
        lifetime: dt.timedelta = TLS_SERVER_LIFETIME,
    ) -> x509.Certificate:
        """A TLS server certificate for host names and IP addresses (RFC 5280 §4.2.1.6).

        Issued by the CA the enrollment profile installs as a root, so a
        device trusts Flokk's own HTTPS without a public certificate.
        """
        if not names:
            raise CAError("a server certificate needs at least one name")
        alternative_names: list[x509.GeneralName] = []
        for name in dict.fromkeys(names):
            try:
                alternative_names.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alternative_names.append(x509.DNSName(name))
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        return self._leaf(
            public_key,
            subject,
            lifetime,
            None,
            ExtendedKeyUsageOID.SERVER_AUTH,
            x509.SubjectAlternativeName(alternative_names),
        )

    def _leaf(
        self,
        public_key: CertificatePublicKeyTypes,
        subject: x509.Name,
        lifetime: dt.timedelta,
        serial: int | None,
        purpose: x509.ObjectIdentifier,
        alternative_names: x509.SubjectAlternativeName | None = None,
    ) -> x509.Certificate:
        check_public_key(public_key)
        now = _now()
        not_after = min(now + lifetime, self.certificate.not_valid_after_utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(serial if serial is not None else new_serial())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=isinstance(public_key, rsa.RSAPublicKey),
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)  # type: ignore[arg-type]
            .add_extension(self._authority_key_identifier(), critical=False)
        )
        if alternative_names is not None:
            builder = builder.add_extension(alternative_names, critical=False)
        return builder.sign(self.private_key, hashes.SHA256())

    def _authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        try:
            ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        except x509.ExtensionNotFound:  # an imported CA without SKI
            return x509.AuthorityKeyIdentifier.from_issuer_public_key(self.private_key.public_key())
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)

    def issued(self, certificate: x509.Certificate) -> bool:
        """Whether ``certificate`` carries this CA's signature (not whether it is still valid)."""
        if certificate.issuer != self.certificate.subject:
            return False
        try:
            certificate.verify_directly_issued_by(self.certificate)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True
