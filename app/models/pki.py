"""Flokk's certificates: its CA, every certificate it issued, the APNs push certificate,
and the one-time SCEP challenges handed out in enrollment profiles."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CreatedAt
from app.models.devices import Device
from app.models.enrollment import EnrollmentToken
from app.models.tenancy import School


class CertificateAuthorityRecord(CreatedAt, Base):
    """A CA Flokk signs with (the active one) or signed with (retired after an import)."""

    __tablename__ = "certificate_authorities"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(500))
    #: SHA-256 of the DER certificate, lowercase hex.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    certificate_pem: Mapped[str] = mapped_column(Text)
    #: PKCS #8 PEM sealed with the secrets box (label "ca-key"); never stored in the clear.
    key_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    not_after: Mapped[dt.datetime]
    #: "generated" at `flokk init`, or "imported".
    origin: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(255))
    #: Set when another CA replaced this one; its certificates stay valid until they expire.
    retired_at: Mapped[dt.datetime | None]


class IssuedCertificate(CreatedAt, Base):
    """Every certificate the CA issued: a device's identity once it authenticates with it."""

    __tablename__ = "issued_certificates"
    __table_args__ = (Index("ix_issued_certificates_school_id", "school_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    authority_id: Mapped[int] = mapped_column(ForeignKey("certificate_authorities.id"))
    #: Serial number as lowercase hex (without leading zeros).
    serial: Mapped[str] = mapped_column(String(48), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(500))
    not_before: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime]
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary)
    #: The device that authenticated with this certificate (set at check-in Authenticate).
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"), index=True)
    enrollment_token_id: Mapped[int | None] = mapped_column(ForeignKey("enrollment_tokens.id", ondelete="SET NULL"))
    #: The certificate this one renewed (SCEP RenewalReq), if any.
    renewed_from_id: Mapped[int | None] = mapped_column(ForeignKey("issued_certificates.id", ondelete="SET NULL"))
    transaction_id: Mapped[str | None] = mapped_column(String(256))
    revoked_at: Mapped[dt.datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(String(200))

    school: Mapped[School] = relationship()
    device: Mapped[Device | None] = relationship()
    enrollment_token: Mapped[EnrollmentToken | None] = relationship()


class EnrollmentChallenge(CreatedAt, Base):
    """A one-time SCEP challenge password, minted for one enrollment profile download."""

    __tablename__ = "enrollment_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    #: The enrollment link the profile came from; None for Automated Device Enrollment (``asm_device_id``).
    enrollment_token_id: Mapped[int | None] = mapped_column(ForeignKey("enrollment_tokens.id", ondelete="CASCADE"))
    asm_device_id: Mapped[int | None] = mapped_column(ForeignKey("asm_devices.id", ondelete="CASCADE"))
    #: SHA-256 of the challenge, hex: the challenge itself is only in the profile.
    challenge_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]

    enrollment_token: Mapped[EnrollmentToken | None] = relationship()


class PushCertificateRecord(CreatedAt, Base):
    """Central IT's MDM push certificate (APNs); the newest one not replaced is in use."""

    __tablename__ = "push_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[str] = mapped_column(String(64))
    not_after: Mapped[dt.datetime]
    certificate_pem: Mapped[str] = mapped_column(Text)
    #: PKCS #8 PEM sealed with the secrets box (label "push-key").
    key_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    imported_by: Mapped[str] = mapped_column(String(255))
    replaced_at: Mapped[dt.datetime | None]
