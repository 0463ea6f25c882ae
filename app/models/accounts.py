"""Principals: admin users and API tokens, and the rights granted to them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CreatedAt


class AdminUser(CreatedAt, Base):
    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    #: argon2 hash; None for accounts that only sign in through OpenID Connect.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[dt.datetime | None]

    grants: Mapped[list[RoleGrant]] = relationship(back_populates="admin_user", cascade="all, delete-orphan")


class ApiToken(CreatedAt, Base):
    """A bearer token for automation; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: SHA-256 of the token, hex.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    grants: Mapped[list[RoleGrant]] = relationship(back_populates="api_token", cascade="all, delete-orphan")


class RoleGrant(CreatedAt, Base):
    """(principal, role, scope): ``school_id`` None means all schools."""

    __tablename__ = "role_grants"
    __table_args__ = (
        CheckConstraint(
            "(admin_user_id IS NULL) != (api_token_id IS NULL)",
            name="one_principal",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    admin_user_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id", ondelete="CASCADE"), index=True)
    api_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str] = mapped_column(String(255))

    admin_user: Mapped[AdminUser | None] = relationship(back_populates="grants")
    api_token: Mapped[ApiToken | None] = relationship(back_populates="grants")
