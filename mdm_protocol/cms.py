"""CMS (RFC 5652): SignedData and EnvelopedData as Apple MDM and SCEP use them.

Where Flokk meets CMS:

* the ``Mdm-Signature`` header (Apple, "Sign MDM messages"): a *detached*
  SignedData over the request body, verified with :func:`verify_detached`;
* signed configuration profiles (Apple, "Configuration Profile Reference",
  signing): an *attached* SignedData made by :func:`sign`;
* SCEP (RFC 8894 §3): every message is a SignedData with extra signed
  attributes around an EnvelopedData; :func:`verify`, :func:`sign`,
  :func:`encrypt`, :func:`decrypt` and the certificates-only structure of
  :func:`certificates_only` are its building blocks.

asn1crypto holds the ASN.1 structures; ``cryptography`` does the maths. Every
problem with input is raised as a :class:`CMSError` (a ``ValueError``) with a
message a person can act on; nothing here trusts a certificate chain, which is
the caller's job.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import core
from asn1crypto import parser as asn1_parser
from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .certificates import key_matches

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

#: Digests accepted on input. SHA-1 stays because Apple's own SCEP client
#: signs with it (tests/fixtures/.../PKCSReq.der); MD5 does not.
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

#: Content-encryption algorithms Flokk can *decrypt*, name -> key length.
#: DES and 3DES are here only so requests from old clients can be read;
#: :func:`encrypt` refuses them.
_CIPHER_KEY_SIZES = {
    "aes128_cbc": 16,
    "aes192_cbc": 24,
    "aes256_cbc": 32,
    "tripledes_3key": 24,
    "des": 8,
}
ENCRYPTION_ALGORITHMS = ("aes128_cbc", "aes192_cbc", "aes256_cbc")


class CMSError(ValueError):
    """A CMS structure is malformed, unsupported or fails a check."""


class InvalidSignature(CMSError):
    """A SignedData is malformed, its signer is missing, or the signature does not match."""


class DecryptionError(CMSError):
    """An EnvelopedData is malformed, not addressed to us, or cannot be decrypted."""


@dataclass(frozen=True)
class Attribute:
    """One signed attribute (RFC 5652 §5.3): a dotted OID and its DER-encoded values."""

    oid: str
    values: tuple[bytes, ...]

    @classmethod
    def of(cls, oid: str, *values: core.Asn1Value) -> Attribute:
        return cls(oid, tuple(value.dump() for value in values))


@dataclass(frozen=True)
class SignedMessage:
    """A verified SignedData: what was signed, by whom, and the signed attributes.

    ``attributes`` maps each signed attribute's dotted OID to its DER values.
    ``signature_id`` identifies the signature: SHA-256 over the signer's
    certificate and exactly the bytes it signed (the signed attributes, or
    the content when there are none). Every copy of one signature has the same
    id however the unsigned parts around it are re-encoded, and so does a
    re-randomised ECDSA signature of the same bytes; a new signature by the
    device (a new signing time, another body) has another. Replay checks use it.
    """

    content: bytes
    signer: x509.Certificate
    certificates: tuple[x509.Certificate, ...]
    digest_algorithm: str
    attributes: Mapping[str, tuple[bytes, ...]] = field(default_factory=dict)
    signature_id: bytes = b""

    def attribute(self, oid: str) -> bytes | None:
        """The DER of a single-valued signed attribute, or ``None`` if absent."""
        values = self.attributes.get(oid)
        if not values:
            return None
        if len(values) != 1:
            raise InvalidSignature(f"signed attribute {oid} must have exactly one value")
        return values[0]


# ---------------------------------------------------------------- SignedData


def sign(
    content: bytes,
    certificate: x509.Certificate,
    private_key: PrivateKey,
    *,
    detached: bool = False,
    extra_certificates: Iterable[x509.Certificate] = (),
    attributes: Iterable[Attribute] = (),
    digest: str = "sha256",
    signing_time: dt.datetime | None = None,
) -> bytes:
    """Sign ``content`` as a DER ContentInfo holding a SignedData (RFC 5652 §5).

    The signer is identified by issuer and serial number; the signed attributes
    are contentType, signingTime (``signing_time``, default now) and
    messageDigest plus ``attributes``. With ``detached`` the content itself is
    left out (as in ``Mdm-Signature``).
    """
    if digest not in _HASHES:
        raise CMSError(f"unsupported digest {digest!r}")
    if not key_matches(certificate, private_key):
        raise CMSError("the private key does not belong to the signing certificate")
    hash_algorithm = _HASHES[digest]()
    signed_attrs = asn1_cms.CMSAttributes(
        [
            asn1_cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            asn1_cms.CMSAttribute(
                {"type": "signing_time",
                 "values": [asn1_cms.Time({"utc_time": signing_time or dt.datetime.now(dt.timezone.utc)})]}
            ),
            asn1_cms.CMSAttribute({"type": "message_digest", "values": [_digest(hash_algorithm, content)]}),
            *(_cms_attribute(attribute) for attribute in attributes),
        ]
    )
    signature = _sign_bytes(private_key, hash_algorithm, signed_attrs.dump())
    signer_cert = _to_asn1_certificate(certificate)
    signer_info = asn1_cms.SignerInfo(
        {
            "version": "v1",
            "sid": asn1_cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": asn1_cms.IssuerAndSerialNumber(
                        {"issuer": signer_cert.issuer, "serial_number": signer_cert.serial_number}
                    )
                }
            ),
            "digest_algorithm": {"algorithm": digest},
            "signed_attrs": signed_attrs,
            "signature_algorithm": _signature_algorithm(private_key, digest),
            "signature": signature,
        }
    )
    encap: dict[str, Any] = {"content_type": "data"}
    if not detached:
        encap["content"] = content
    signed_data = asn1_cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": digest}],
            "encap_content_info": encap,
            "certificates": [signer_cert, *(_to_asn1_certificate(c) for c in extra_certificates)],
            "signer_infos": [signer_info],
        }
    )
    return asn1_cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def verify(signed_der: bytes, *, content: bytes | None = None) -> SignedMessage:
    """Verify a DER SignedData and return what it says (RFC 5652 §5.6).

    ``content`` is the detached content when the SignedData carries none; if
    both are present they must be equal. The signer certificate must be in the
    SignedData. Exactly one signer is accepted: Flokk never needs more.
    """
    try:
        return _verify(_load_content_info(signed_der, "signed_data", InvalidSignature, eager=False), content)
    except CMSError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        # Parsing is lazy on this hot path (every MDM request): a structure that
        # breaks half-way is as invalid as one that breaks at once.
        raise InvalidSignature(f"not a valid CMS signed_data structure: {_short(exc)}") from None


def _verify(signed_data: Any, content: bytes | None) -> SignedMessage:
    encap = signed_data["encap_content_info"]
    embedded = _embedded_content(encap)
    if content is not None and embedded is not None and not hmac.compare_digest(content, embedded):
        raise InvalidSignature("the signed content differs from the content given")
    signed_content = content if content is not None else embedded
    if signed_content is None:
        raise InvalidSignature("the SignedData is detached: the signed content must be given")
    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        raise InvalidSignature(f"expected exactly one signer, found {len(signer_infos)}")
    certificates = _certificates(signed_data)
    signer_info = signer_infos[0]
    signer = _find_signer(signer_info["sid"], certificates)
    digest_name = _native(signer_info["digest_algorithm"]["algorithm"])
    if digest_name not in _HASHES:
        raise InvalidSignature(f"unsupported digest algorithm {digest_name!r}")
    hash_algorithm = _HASHES[digest_name]()
    attributes: dict[str, tuple[bytes, ...]] = {}
    signed_attrs = signer_info["signed_attrs"]
    if not isinstance(signed_attrs, core.Void):
        attributes = _attribute_map(signed_attrs)
        _check_signed_attributes(attributes, encap, hash_algorithm, signed_content)
        # The signature covers the attributes re-tagged as a SET (RFC 5652 §5.4),
        # byte for byte as received.
        signed_bytes = b"\x31" + signed_attrs.dump()[1:]
    else:
        signed_bytes = signed_content
    _verify_bytes(signer, signer_info, hash_algorithm, signed_bytes)
    x509_certificates = tuple(_to_x509(cert) for cert in certificates)
    return SignedMessage(
        content=signed_content,
        signer=_to_x509(signer),
        certificates=x509_certificates,
        digest_algorithm=digest_name,
        attributes=attributes,
        signature_id=hashlib.sha256(hashlib.sha256(signer.dump()).digest() + signed_bytes).digest(),
    )


def is_detached(signed_der: bytes) -> bool:
    """Whether a DER SignedData leaves its content out."""
    return _embedded_content(_load_signed_data(signed_der)["encap_content_info"]) is None


def unverified_content(signed_der: bytes) -> bytes:
    """The content an attached SignedData carries, without checking the signature.

    For reading what an admin hands over (a signed configuration profile) to
    see what it is; never for trusting it. Raises :class:`CMSError`.
    """
    try:
        content = _embedded_content(_load_signed_data(signed_der)["encap_content_info"])
    except CMSError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise CMSError(f"not a valid CMS signed_data structure: {_short(exc)}") from None
    if content is None:
        raise CMSError("the SignedData carries no content")
    return content


def verify_detached(signature_der: bytes, content: bytes) -> x509.Certificate:
    """Verify a detached SignedData over exactly ``content``; return the signer certificate.

    This is the check behind Apple's ``Mdm-Signature`` header. Whether the
    signer is trusted (issued by Flokk's CA, not revoked) is the caller's job;
    :func:`verify` also gives the ``signature_id`` a replay check needs.
    """
    return verify(signature_der, content=content).signer


def certificates_only(certificates: Sequence[x509.Certificate]) -> bytes:
    """A degenerate, signer-less SignedData that only carries certificates.

    RFC 8894 §3.4 (CertRep content, GetCACert with several certificates) and
    RFC 5652 §5.2 ("certs-only").
    """
    signed_data = asn1_cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [],
            "encap_content_info": {"content_type": "data"},
            "certificates": [_to_asn1_certificate(cert) for cert in certificates],
            "signer_infos": [],
        }
    )
    return asn1_cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def read_certificates_only(der: bytes) -> list[x509.Certificate]:
    """The certificates of a certs-only SignedData (see :func:`certificates_only`)."""
    signed_data = _load_signed_data(der)
    return [_to_x509(cert) for cert in _certificates(signed_data)]


# ------------------------------------------------------------- EnvelopedData


def encrypt(
    content: bytes,
    recipients: Sequence[x509.Certificate],
    *,
    algorithm: str = "aes256_cbc",
) -> bytes:
    """Encrypt ``content`` to RSA ``recipients`` as a DER EnvelopedData (RFC 5652 §6).

    The content key is wrapped with RSAES-PKCS1-v1_5, which every SCEP client
    and Apple device can unwrap. Only AES-CBC is offered: DES and 3DES are
    refused here on purpose.
    """
    if algorithm not in ENCRYPTION_ALGORITHMS:
        raise CMSError(f"refusing to encrypt with {algorithm!r}; use one of {', '.join(ENCRYPTION_ALGORITHMS)}")
    if not recipients:
        raise CMSError("at least one recipient certificate is needed")
    key = os.urandom(_CIPHER_KEY_SIZES[algorithm])
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(content) + padder.finalize()) + encryptor.finalize()
    recipient_infos = []
    for certificate in recipients:
        public_key = certificate.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise CMSError("only RSA recipients are supported")
        asn1_cert = _to_asn1_certificate(certificate)
        recipient_infos.append(
            asn1_cms.RecipientInfo(
                {
                    "ktri": {
                        "version": "v0",
                        "rid": {
                            "issuer_and_serial_number": {
                                "issuer": asn1_cert.issuer,
                                "serial_number": asn1_cert.serial_number,
                            }
                        },
                        "key_encryption_algorithm": {"algorithm": "rsaes_pkcs1v15"},
                        "encrypted_key": public_key.encrypt(key, asym_padding.PKCS1v15()),
                    }
                }
            )
        )
    enveloped = asn1_cms.EnvelopedData(
        {
            "version": "v0",
            "recipient_infos": recipient_infos,
            "encrypted_content_info": {
                "content_type": "data",
                "content_encryption_algorithm": {"algorithm": algorithm, "parameters": iv},
                "encrypted_content": ciphertext,
            },
        }
    )
    return asn1_cms.ContentInfo({"content_type": "enveloped_data", "content": enveloped}).dump()


def decrypt(enveloped_der: bytes, certificate: x509.Certificate, private_key: rsa.RSAPrivateKey) -> bytes:
    """Decrypt a DER EnvelopedData addressed to ``certificate`` (RFC 5652 §6).

    Reads AES-CBC, and 3DES/DES from old clients. Every failure to unwrap or
    decrypt gives the same message, so the answer leaks nothing about padding.
    """
    enveloped = _load_content_info(enveloped_der, "enveloped_data", DecryptionError, _LenientEnvelopeInfo)
    try:
        recipient = _find_recipient(enveloped["recipient_infos"], _to_asn1_certificate(certificate))
        encrypted_info = enveloped["encrypted_content_info"]
        algorithm = encrypted_info["content_encryption_algorithm"]
        name = _native(algorithm["algorithm"])
        ciphertext = _encrypted_content(encrypted_info)
        key_algorithm = _native(recipient["key_encryption_algorithm"]["algorithm"])
        encrypted_key = recipient["encrypted_key"].native
        iv = algorithm["parameters"].native
    except (ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, DecryptionError):
            raise
        raise DecryptionError(f"malformed EnvelopedData: {exc}") from None
    if name not in _CIPHER_KEY_SIZES:
        raise DecryptionError(f"unsupported content encryption algorithm {name!r}")
    if ciphertext is None:
        raise DecryptionError("the EnvelopedData carries no encrypted content")
    try:
        key = private_key.decrypt(encrypted_key, _key_transport_padding(key_algorithm, recipient))
        return _decrypt_content(name, key, iv, ciphertext)
    except DecryptionError:
        raise
    except (ValueError, TypeError):
        raise DecryptionError("the content could not be decrypted with our key") from None


# ------------------------------------------------------------------ helpers


class _LenientEncryptedContentInfo(core.Sequence):
    """EncryptedContentInfo whose ``[0] encryptedContent`` may also be in BER
    constructed form, as Go's widely used pkcs7 package (and so Debian's
    ``scepclient``) writes it; asn1crypto only reads the primitive form."""

    _fields = [
        ("content_type", asn1_cms.ContentType),
        ("content_encryption_algorithm", asn1_cms.EncryptionAlgorithm),
        ("encrypted_content", core.Any, {"implicit": 0, "optional": True}),
    ]


class _LenientEnvelopedData(core.Sequence):
    _fields = [
        ("version", asn1_cms.CMSVersion),
        ("originator_info", asn1_cms.OriginatorInfo, {"implicit": 0, "optional": True}),
        ("recipient_infos", asn1_cms.RecipientInfos),
        ("encrypted_content_info", _LenientEncryptedContentInfo),
        ("unprotected_attrs", asn1_cms.CMSAttributes, {"implicit": 1, "optional": True}),
    ]


class _LenientEnvelopeInfo(core.Sequence):
    _fields = [
        ("content_type", asn1_cms.ContentType),
        ("content", _LenientEnvelopedData, {"explicit": 0}),
    ]


def _encrypted_content(encrypted_info: Any) -> bytes | None:
    """The ``[0] encryptedContent`` octets, primitive or constructed (X.690 §8.7.3).

    Read from the raw TLVs of the EncryptedContentInfo: asn1crypto does not
    expose whether an implicitly tagged element was constructed.
    """
    elements = list(_tlvs(encrypted_info.contents))
    if len(elements) < 3:
        return None
    class_, method, tag, contents = elements[2]
    if class_ != 2 or tag != 0:
        raise DecryptionError("malformed EnvelopedData: encryptedContent must be tagged [0]")
    if method == 0:
        return contents
    chunks = []
    for class_, method, tag, chunk in _tlvs(contents):
        if (class_, method, tag) != (0, 0, 4):
            raise DecryptionError("malformed EnvelopedData: encryptedContent chunks must be OCTET STRINGs")
        chunks.append(chunk)
    return b"".join(chunks)


def _tlvs(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    offset = 0
    while offset < len(data):
        class_, method, tag, header, contents, trailer = asn1_parser.parse(data[offset:])
        yield class_, method, tag, contents
        offset += len(header) + len(contents) + len(trailer)


def _load_content_info(
    der: bytes,
    expected: str,
    error: type[CMSError],
    spec: type[core.Sequence] = asn1_cms.ContentInfo,
    *,
    eager: bool = True,
) -> Any:
    if not der:
        raise error("empty CMS message")
    try:
        info = spec.load(der, strict=True)
        content_type = info["content_type"].native
        if content_type != expected:
            raise error(f"expected CMS {expected}, got {content_type}")
        content = info["content"]
        if eager and spec is asn1_cms.ContentInfo:
            content.native  # parse everything now so later access cannot fail half-way
        return content
    except CMSError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise error(f"not a valid CMS {expected} structure: {_short(exc)}") from None


def _load_signed_data(der: bytes) -> Any:
    return _load_content_info(der, "signed_data", InvalidSignature)


def _embedded_content(encap: Any) -> bytes | None:
    raw = encap["content"]
    if isinstance(raw, core.Void) or raw.contents is None:
        return None
    value = raw.parsed if isinstance(raw, core.Any) else raw
    if isinstance(value, core.ParsableOctetString | core.OctetString):
        return bytes(value.native) if value.native is not None else b""
    # PKCS #7 v1.5 lets any type stand here; the signed bytes are its content octets.
    return raw.contents


def _certificates(signed_data: Any) -> list[asn1_x509.Certificate]:
    found = []
    for choice in signed_data["certificates"] or []:
        if choice.name == "certificate":
            found.append(choice.chosen)
    return found


def _find_signer(sid: Any, certificates: list[asn1_x509.Certificate]) -> asn1_x509.Certificate:
    for certificate in certificates:
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if certificate.serial_number == wanted["serial_number"].native and _same_name(
                certificate.issuer, wanted["issuer"]
            ):
                return certificate
        elif certificate.key_identifier is not None and certificate.key_identifier == sid.chosen.native:
            return certificate
    raise InvalidSignature("the signer's certificate is not included in the SignedData")


def _same_name(ours: asn1_x509.Name, theirs: asn1_x509.Name) -> bool:
    """Byte equality first (the usual case, and cheap); RFC 5280 name comparison otherwise."""
    return ours.dump() == theirs.dump() or ours == theirs


def _find_recipient(recipient_infos: Any, ours: asn1_x509.Certificate) -> Any:
    for info in recipient_infos:
        if info.name != "ktri":
            continue
        recipient = info.chosen
        rid = recipient["rid"]
        if rid.name == "issuer_and_serial_number":
            wanted = rid.chosen
            if ours.serial_number == wanted["serial_number"].native and ours.issuer == wanted["issuer"]:
                return recipient
        elif ours.key_identifier is not None and ours.key_identifier == rid.chosen.native:
            return recipient
    raise DecryptionError("the EnvelopedData is not addressed to this certificate")


def _attribute_map(signed_attrs: Any) -> dict[str, tuple[bytes, ...]]:
    attributes: dict[str, tuple[bytes, ...]] = {}
    for attribute in signed_attrs:
        oid = attribute["type"].dotted
        if oid in attributes:
            raise InvalidSignature(f"signed attribute {oid} appears twice")
        attributes[oid] = tuple(value.dump() for value in attribute["values"])
    return attributes


_OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"


def _check_signed_attributes(
    attributes: Mapping[str, tuple[bytes, ...]],
    encap: Any,
    hash_algorithm: hashes.HashAlgorithm,
    content: bytes,
) -> None:
    digests = attributes.get(_OID_MESSAGE_DIGEST)
    if not digests or len(digests) != 1:
        raise InvalidSignature("the signed attributes lack a single messageDigest")
    types = attributes.get(_OID_CONTENT_TYPE)
    if not types or len(types) != 1:
        raise InvalidSignature("the signed attributes lack a single contentType")
    if core.ObjectIdentifier.load(types[0]).dotted != encap["content_type"].dotted:
        raise InvalidSignature("the contentType attribute does not match the content")
    expected = core.OctetString.load(digests[0]).native
    actual = _digest(hash_algorithm, content)
    if not hmac.compare_digest(expected, actual):
        raise InvalidSignature("the message digest does not match the content")


def _verify_bytes(
    signer: asn1_x509.Certificate, signer_info: Any, hash_algorithm: hashes.HashAlgorithm, data: bytes
) -> None:
    public_key = _to_x509(signer).public_key()
    signature = signer_info["signature"].native
    algorithm = signer_info["signature_algorithm"]
    try:
        kind = algorithm.signature_algo
    except ValueError:
        raise InvalidSignature(f"unsupported signature algorithm {_native(algorithm['algorithm'])!r}") from None
    try:
        if kind == "rsassa_pkcs1v15" and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, asym_padding.PKCS1v15(), hash_algorithm)
        elif kind == "rsassa_pss" and isinstance(public_key, rsa.RSAPublicKey):
            params = algorithm["parameters"]
            pss_hash = _HASHES.get(params["hash_algorithm"]["algorithm"].native)
            if pss_hash is None:
                raise InvalidSignature("unsupported RSASSA-PSS hash")
            pss = asym_padding.PSS(asym_padding.MGF1(pss_hash()), params["salt_length"].native)
            public_key.verify(signature, data, pss, pss_hash())
        elif kind == "ecdsa" and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hash_algorithm))
        else:
            raise InvalidSignature(f"signature algorithm {kind} does not fit the signer's key")
    except _CryptoInvalidSignature:
        raise InvalidSignature("the signature does not match the signed data") from None


def _sign_bytes(private_key: PrivateKey, hash_algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(data, asym_padding.PKCS1v15(), hash_algorithm)
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return private_key.sign(data, ec.ECDSA(hash_algorithm))
    raise CMSError("only RSA and EC keys can sign")


def _signature_algorithm(private_key: PrivateKey, digest: str) -> dict[str, Any]:
    if isinstance(private_key, rsa.RSAPrivateKey):
        # rsaEncryption with the digest named separately: the form Apple,
        # OpenSSL and every SCEP client read.
        return {"algorithm": "rsassa_pkcs1v15"}
    return {"algorithm": f"{digest}_ecdsa"}


def _key_transport_padding(name: str, recipient: Any) -> asym_padding.AsymmetricPadding:
    if name == "rsaes_pkcs1v15":
        return asym_padding.PKCS1v15()
    if name == "rsaes_oaep":
        params = recipient["key_encryption_algorithm"]["parameters"]
        oaep_hash = _HASHES.get(params["hash_algorithm"]["algorithm"].native)
        if oaep_hash is None:
            raise DecryptionError("unsupported RSAES-OAEP hash")
        return asym_padding.OAEP(asym_padding.MGF1(oaep_hash()), oaep_hash(), None)
    raise DecryptionError(f"unsupported key transport algorithm {name!r}")


def _decrypt_content(name: str, key: bytes, iv: Any, ciphertext: bytes) -> bytes:
    if len(key) != _CIPHER_KEY_SIZES[name] or not isinstance(iv, bytes):
        raise DecryptionError("the content could not be decrypted with our key")
    if name.startswith("aes"):
        cipher, block_bits = algorithms.AES(key), 128
    else:
        cipher, block_bits = TripleDES(key if len(key) == 24 else key * 3), 64
    if len(iv) * 8 != block_bits or len(ciphertext) % (block_bits // 8):
        raise DecryptionError("the content could not be decrypted with our key")
    decryptor = Cipher(cipher, modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(block_bits).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def _cms_attribute(attribute: Attribute) -> asn1_cms.CMSAttribute:
    return asn1_cms.CMSAttribute(
        {"type": attribute.oid, "values": [core.Any.load(value) for value in attribute.values]}
    )


def _digest(hash_algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    hasher = hashes.Hash(hash_algorithm)
    hasher.update(data)
    return hasher.finalize()


def _to_asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _to_x509(certificate: asn1_x509.Certificate) -> x509.Certificate:
    try:
        return _parsed_certificate(certificate.dump())
    except ValueError as exc:
        raise InvalidSignature(f"an included certificate is malformed: {_short(exc)}") from None


@functools.lru_cache(maxsize=4096)
def _parsed_certificate(der: bytes) -> x509.Certificate:
    """A certificate's parsed form, by its exact bytes: a device sends the same one with every
    message. Only parsing is saved; every signature is still verified with it."""
    return x509.load_der_x509_certificate(der)


def _native(value: Any) -> str:
    return str(value.native)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else exc.__class__.__name__

