"""A simulated iPad for tests and the benchmark: its identity, and the MDM messages it sends.

The iPad signs every body with its SCEP identity (``Mdm-Signature``: a
detached CMS SignedData, as Apple devices do; each message with its own
signing time, at least a second after the one before, as a real iPad's
messages are: Flokk refuses a signature it has seen before) and speaks through a
``Transport``: the Flask test client in-process, or HTTPS against a running
``flokk serve``. Identities are either issued straight from Flokk's CA
(fast, for most tests) or obtained through SCEP from a downloaded enrollment
profile (the end-to-end test).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import plistlib
import ssl
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import Session

from app import endpoints
from app.services.pki import certificate_authority, certificates
from mdm_protocol import cms

PUSH_TOPIC = "com.apple.mgmt.External.9f0c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    @property
    def command(self) -> dict[str, Any] | None:
        """The command sent back, or None for an empty answer."""
        return plistlib.loads(self.body) if self.status == 200 and self.body else None

    @property
    def request_type(self) -> str | None:
        command = self.command
        return command["Command"]["RequestType"] if command else None

    @property
    def command_uuid(self) -> str | None:
        command = self.command
        return command["CommandUUID"] if command else None


class Transport(Protocol):
    def put(self, path: str, body: bytes, headers: dict[str, str]) -> Answer: ...


class FlaskTransport:
    """In-process, through the Flask test client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def put(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        response = self.client.put(path, data=body, headers=headers)
        answer = Answer(response.status_code, response.get_data())
        response.close()  # runs call_on_close callbacks (the push after commit), as a server does
        return answer

    def get(self, path: str) -> Answer:
        response = self.client.get(path)
        answer = Answer(response.status_code, response.get_data())
        response.close()
        return answer


class HttpsTransport:
    """Against a running Flokk (``flokk serve``), trusting its TLS certificate."""

    def __init__(self, base_url: str, context: ssl.SSLContext) -> None:
        self.base_url = base_url.rstrip("/")
        self.context = context

    def put(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers, method="PUT")
        return self._open(request)

    def get(self, path: str) -> Answer:
        return self._open(urllib.request.Request(self.base_url + path, method="GET"))

    def _open(self, request: urllib.request.Request) -> Answer:
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
                return Answer(response.status, response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read())


@dataclass
class SimulatedIpad:
    """One iPad: hardware facts, push details, and the identity it signs with."""

    udid: str = field(default_factory=lambda: os.urandom(20).hex())
    serial: str = field(default_factory=lambda: "F" + os.urandom(5).hex().upper()[:11])
    product: str = "iPad13,18"
    #: iPadOS 14: this iPad does not speak declarative management (Flokk turns it on from iPadOS 15);
    #: ``tests.support.ddm_ipad.DeclarativeIpad`` is one that does.
    os_version: str = "14.8"
    build: str = "18H17"
    topic: str = PUSH_TOPIC
    push_token: bytes = field(default_factory=lambda: os.urandom(32))
    push_magic: str = field(default_factory=lambda: str(uuid.uuid4()).upper())
    unlock_token: bytes = field(default_factory=lambda: os.urandom(64))
    certificate: x509.Certificate | None = None
    key: Any = None
    signed_at: dt.datetime | None = None
    _signing: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # --- identity ------------------------------------------------------------------

    def issue_identity(
        self, session: Session, school_id: int, *, enrollment_token_id: int | None = None, authority: Any = None
    ) -> None:
        """Get an identity straight from Flokk's CA, recorded as SCEP would record it.

        ``authority``: the CA already loaded (saves unsealing its key per iPad).
        """
        self.key = ec.generate_private_key(ec.SECP256R1())
        authority = authority or certificate_authority.load_ca(session)
        record = certificate_authority.active_record(session)
        self.certificate = authority.issue(
            self.key.public_key(), x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Flokk device")])
        )
        certificates.record_issued(
            session, self.certificate, authority=record, school_id=school_id, enrollment_token_id=enrollment_token_id
        )

    def headers(self, body: bytes, content_type: str) -> dict[str, str]:
        assert self.certificate is not None, "the iPad has no identity yet"
        with self._signing:  # two threads may speak for one iPad (tests of concurrent workers)
            now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
            self.signed_at = max(now, self.signed_at + dt.timedelta(seconds=1)) if self.signed_at else now
            signed_at = self.signed_at
        signature = cms.sign(body, self.certificate, self.key, detached=True, signing_time=signed_at)
        return {"Mdm-Signature": base64.b64encode(signature).decode(), "Content-Type": content_type}

    # --- messages --------------------------------------------------------------------

    def authenticate_message(self) -> dict[str, Any]:
        return {
            "MessageType": "Authenticate",
            "Topic": self.topic,
            "UDID": self.udid,
            "SerialNumber": self.serial,
            "ProductName": self.product,
            "OSVersion": self.os_version,
            "BuildVersion": self.build,
        }

    def token_update_message(self) -> dict[str, Any]:
        return {
            "MessageType": "TokenUpdate",
            "Topic": self.topic,
            "UDID": self.udid,
            "Token": self.push_token,
            "PushMagic": self.push_magic,
            "UnlockToken": self.unlock_token,
            "AwaitingConfiguration": False,
        }

    def checkin(self, transport: Transport, message: dict[str, Any], *, raw: bytes | None = None) -> Answer:
        body = raw if raw is not None else plistlib.dumps(message)
        return transport.put(endpoints.MDM_CHECKIN, body, self.headers(body, "application/x-apple-aspen-mdm-checkin"))

    def enrol(self, transport: Transport) -> Answer:
        first = self.checkin(transport, self.authenticate_message())
        assert first.status == 200, first.body
        return self.checkin(transport, self.token_update_message())

    def report(self, transport: Transport, status: str, command_uuid: str | None = None, **response: Any) -> Answer:
        message: dict[str, Any] = {"Status": status, "UDID": self.udid, **response}
        if command_uuid is not None:
            message["CommandUUID"] = command_uuid
        return self.send(transport, plistlib.dumps(message))

    def send(self, transport: Transport, body: bytes) -> Answer:
        return transport.put(endpoints.MDM_SERVER, body, self.headers(body, "application/x-apple-aspen-mdm"))

    def idle(self, transport: Transport) -> Answer:
        return self.report(transport, "Idle")


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# --- enrolling as an iPad does: profile URL, then SCEP ------------------------------------


@dataclass(frozen=True)
class EnrollmentPayloads:
    """What an iPad reads from a downloaded enrollment profile."""

    scep: dict[str, Any]
    mdm: dict[str, Any]


def read_profile(data: bytes) -> EnrollmentPayloads:
    """Verify the profile's CMS signature (attached) and pick its SCEP and MDM payloads."""
    profile = plistlib.loads(cms.verify(data).content)
    (scep,) = [p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.security.scep"]
    (mdm,) = [p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.mdm"]
    return EnrollmentPayloads(scep=scep["PayloadContent"], mdm=mdm)


def scep_enrol(ipad: SimulatedIpad, scep: dict[str, Any], fetch: Any) -> None:
    """Get the iPad's identity from the SCEP URL with the profile's challenge (RFC 8894 PKCSReq).

    ``fetch(method, url, body=None) -> bytes`` does the HTTP.
    """
    from cryptography.x509.oid import AttributeOID

    from mdm_protocol.scep import messages

    url = scep["URL"]
    ca_data = fetch("GET", f"{url}?operation=GetCACert&message=flokk")
    try:
        recipients = [x509.load_der_x509_certificate(ca_data)]
    except ValueError:
        recipients = cms.read_certificates_only(ca_data)
    key = rsa_key()
    oids = {"CN": NameOID.COMMON_NAME, "O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME}
    subject = x509.Name([x509.NameAttribute(oids[pair[0][0]], pair[0][1]) for pair in scep.get("Subject", [])])
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_attribute(AttributeOID.CHALLENGE_PASSWORD, scep["Challenge"].encode())
        .sign(key, hashes.SHA256())
    )
    now = dt.datetime.now(dt.timezone.utc)
    signer = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MDM SCEP SIGNER")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MDM SCEP SIGNER")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    message = messages.build_request(
        request,
        message_type=messages.MessageType.PKCS_REQ,
        signer_certificate=signer,
        signer_key=key,
        recipients=recipients,
        transaction_id=os.urandom(16).hex(),
    )
    reply = messages.read_cert_rep(fetch("POST", f"{url}?operation=PKIOperation", message),
                                   certificate=signer, private_key=key)
    assert reply.status == messages.PKIStatus.SUCCESS, (reply.fail_info, reply.fail_info_text)
    ipad.certificate, ipad.key = reply.certificates[0], key
