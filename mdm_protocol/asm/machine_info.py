"""The MachineInfo an iPad in Setup Assistant posts to the ADE profile's ``url``.

Implements the device side of Apple's Automated Device Enrollment profile
request (Device Management: "MachineInfo", ``other/machineinfo.yaml`` of
apple/device-management): the body is a CMS SignedData with the plist
attached, signed by the device's own certificate from *Apple iPhone Device
CA*. Flokk checks the signature, then that the signer chains to one of the
trusted anchors (Apple's device CA chain by default, ``FLOKK_ASM_DEVICE_CA``),
then reads UDID, SERIAL, PRODUCT, VERSION, OS_VERSION and LANGUAGE.

Apple's intermediate certificates in that chain expired years ago while
devices still sign with them, so only the signatures along the chain are
checked, never the dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from mdm_protocol import apple_schema, cms, plist
from mdm_protocol.certificates import fingerprint

CONTENT_TYPE = "application/pkcs7-signature"
#: Apple's chain, shipped with Flokk (see the comment at the top of the file).
APPLE_DEVICE_CA = Path(__file__).with_name("apple_device_ca.pem")
MAX_BYTES = 64 * 1024
_MAX_CHAIN = 6
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


class MachineInfoError(ValueError):
    """The body is not a MachineInfo Flokk can read (HTTP 400)."""


class UntrustedMachineInfo(MachineInfoError):
    """The signature does not verify, or the signer does not chain to a trusted anchor (HTTP 403)."""


@dataclass(frozen=True)
class MachineInfo:
    udid: str
    serial: str
    product: str
    version: str
    os_version: str | None = None
    language: str | None = None
    signer_subject: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


def load_anchors(path: Path | str = APPLE_DEVICE_CA) -> tuple[x509.Certificate, ...]:
    """The trusted anchors from a PEM file (every certificate in it is trusted)."""
    try:
        anchors = tuple(x509.load_pem_x509_certificates(Path(path).read_bytes()))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read device CA certificates from {path}: {error}") from None
    if not anchors:
        raise ValueError(f"{path} holds no PEM certificate")
    return anchors


def verify(body: bytes, anchors: Sequence[x509.Certificate]) -> MachineInfo:
    """Check the signature and the chain, then read the MachineInfo plist."""
    if not body:
        raise MachineInfoError("the request has no body: expected a signed MachineInfo")
    if len(body) > MAX_BYTES:
        raise MachineInfoError(f"the MachineInfo is larger than {MAX_BYTES} bytes")
    try:
        detached = cms.is_detached(body)  # parses the whole structure: what fails here is malformed
    except cms.CMSError as error:
        raise MachineInfoError(f"the MachineInfo is not a CMS SignedData: {error}") from None
    if detached:
        raise MachineInfoError("the signed MachineInfo carries no content")
    try:
        signed = cms.verify(body)
    except cms.CMSError as error:
        raise UntrustedMachineInfo(f"the MachineInfo signature does not verify: {error}") from None
    _check_chain(signed.signer, signed.certificates, anchors)
    try:
        values = plist.load_dict(signed.content, max_bytes=MAX_BYTES)
    except plist.PlistError as error:
        raise MachineInfoError(f"the signed MachineInfo is not a property list: {error}") from None
    problems = apple_schema.check(_schema_keys(), values, platform="ipados", allow_unknown=True)
    if problems:
        raise MachineInfoError("MachineInfo " + "; ".join(str(problem) for problem in problems))
    for key in ("UDID", "SERIAL"):
        if not _IDENTIFIER.fullmatch(values[key]):
            raise MachineInfoError(f"MachineInfo {key}: is not a valid identifier")
    return MachineInfo(
        udid=values["UDID"],
        serial=values["SERIAL"].upper(),
        product=values["PRODUCT"][:64],
        version=values["VERSION"][:32],
        os_version=(values.get("OS_VERSION") or None) and values["OS_VERSION"][:32],
        language=(values.get("LANGUAGE") or None) and values["LANGUAGE"][:16],
        signer_subject=signed.signer.subject.rfc4514_string()[:255],
        raw=values,
    )


def _schema_keys() -> tuple[apple_schema.KeySpec, ...]:
    """Apple's keys; OS_VERSION is only sent since iOS 17, so it is not required here."""
    return tuple(
        replace(key, required=False) if key.name == "OS_VERSION" else key
        for key in apple_schema.other("MachineInfo").keys
    )


def _check_chain(signer: x509.Certificate, included: Iterable[x509.Certificate], anchors: Sequence[x509.Certificate]) -> None:
    trusted = {fingerprint(anchor) for anchor in anchors}
    pool = [*anchors, *included]
    current = signer
    for _ in range(_MAX_CHAIN):
        parent = next((c for c in pool if c.subject == current.issuer and _signed_by(current, c)), None)
        if parent is None:
            break
        if fingerprint(parent) in trusted:
            return
        if parent.subject == parent.issuer:
            break  # a self-signed root nobody trusts
        current = parent
    raise UntrustedMachineInfo(
        f"the MachineInfo is signed by {signer.subject.rfc4514_string()[:120]!r}, "
        "which does not chain to Apple's device CA (FLOKK_ASM_DEVICE_CA)"
    )


def _signed_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s key made ``child``'s signature (SHA-1 included: Apple's old chain uses it)."""
    key = issuer.public_key()
    algorithm = child.signature_hash_algorithm
    if algorithm is None:
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(child.signature, child.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(child.signature, child.tbs_certificate_bytes, ec.ECDSA(algorithm))
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
