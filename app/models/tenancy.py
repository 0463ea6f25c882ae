"""Organisation → School → Group: the tenancy tree every school-owned row hangs from."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CreatedAt


class Organisation(CreatedAt, Base):
    """A municipality (a regional IT service runs several)."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)

    schools: Mapped[list[School]] = relationship(back_populates="organisation")


class School(CreatedAt, Base):
    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Short, stable identifier used by the CLI, the API and in enrollment URLs.
    code: Mapped[str] = mapped_column(String(32), unique=True)

    organisation: Mapped[Organisation] = relationship(back_populates="schools")

    @property
    def school_id(self) -> int:
        """A school is in its own scope (the choke point filters on ``school_id``)."""
        return self.id


class GroupKind(StrEnum):
    CLASS = "class"
    YEAR = "year"
    CART = "cart"
    OTHER = "other"


class Group(CreatedAt, Base):
    """A class, a year group or a tablet cart inside one school."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("school_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default=GroupKind.CLASS)

    school: Mapped[School] = relationship()
