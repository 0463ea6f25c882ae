"""Principals: admin users and API tokens, and the rights granted to them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CreatedAt
from app.models.tenancy import Group, School


class AdminUser(CreatedAt, Base):
    __tablename__ = "admin_users"
    __table_args__ = (UniqueConstraint("sso_provider", "sso_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    #: argon2 hash; None for accounts that only sign in through OpenID Connect.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[dt.datetime | None]
    #: Single sign-on identity: the provider's name in Flokk ("feide", "entra") and its ``sub`` claim.
    sso_provider: Mapped[str | None] = mapped_column(String(32))
    sso_subject: Mapped[str | None] = mapped_column(String(255))

    grants: Mapped[list[RoleGrant]] = relationship(back_populates="admin_user", cascade="all, delete-orphan")

    @property
    def label(self) -> str:
        return f"admin:{self.email}"


class AdminSession(CreatedAt, Base):
    """A dashboard sign-in, held server-side: the browser's cookie carries only its random token.

    Signing out deletes the row, so a copy of the cookie taken before is worth
    nothing; a password change, a reset or a deactivation deletes all of the
    admin's rows. Only the token's SHA-256 is stored.
    """

    __tablename__ = "admin_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    admin_user_id: Mapped[int] = mapped_column(ForeignKey("admin_users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token, hex.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime]


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

    @property
    def label(self) -> str:
        return f"token:{self.name}#{self.id}"


class RoleGrant(CreatedAt, Base):
    """(principal, role, scope): ``school_id`` None means all schools; ``group_id`` narrows it to one
    group of that school (a teacher's class)."""

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
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str] = mapped_column(String(255))
    #: "manual" for grants given by an admin; "sso:<provider>" for grants derived from a
    #: single sign-on claim, replaced at every sign-in so access ends when the claim does.
    source: Mapped[str] = mapped_column(String(40), default="manual", server_default="manual")

    admin_user: Mapped[AdminUser | None] = relationship(back_populates="grants")
    api_token: Mapped[ApiToken | None] = relationship(back_populates="grants")
    school: Mapped[School | None] = relationship()
    group: Mapped[Group | None] = relationship()


class SsoGrantRule(CreatedAt, Base):
    """A group or claim value from a single sign-on provider that gives a role (e.g. a Feide org unit → school ICT).

    At each sign-in the admin's ``sso:<provider>`` grants are replaced by the
    rules that match the person's groups now (``app.services.access.sso_rules``):
    ``claim_value`` is a group id (or claim value), or ``type:<group type>`` for
    every group of a type; ``affiliation``, when set, must be the person's
    affiliation in that group (Feide: ``employee``, ``faculty``, ``student`` ...).
    A ``teacher`` rule has no school: it names the class made from each matching group.
    """

    __tablename__ = "sso_grant_rules"
    __table_args__ = (UniqueConstraint("provider", "claim_value", "role", "school_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    claim_value: Mapped[str] = mapped_column(String(255))
    affiliation: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str] = mapped_column(String(255))

    school: Mapped[School | None] = relationship()
