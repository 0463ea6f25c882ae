"""Enrollment tokens: the secret in a school's enrollment URL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CreatedAt
from app.models.tenancy import Group, School


class EnrollmentToken(CreatedAt, Base):
    """A device enrolled with this token lands in its school (and group, when set)."""

    __tablename__ = "enrollment_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    label: Mapped[str | None] = mapped_column(String(200))
    #: SHA-256 of the token (hex), for lookup; the token itself is kept sealed
    #: so an authorised admin can print the URL again.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[dt.datetime | None]
    max_uses: Mapped[int | None]
    use_count: Mapped[int] = mapped_column(default=0)
    revoked_at: Mapped[dt.datetime | None]

    school: Mapped[School] = relationship()
    group: Mapped[Group | None] = relationship()
