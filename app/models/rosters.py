"""Class rosters: a school's link to its Feide organisation unit, and classes made from teaching groups.

A roster class is a Flokk group (kind ``class``) linked to a teaching group of
the school's administrative system or of Feide (``external_id``), with its
members: teachers and pupils by their Feide id. Teachers of a class may be
granted the ``teacher`` role scoped to that group; the class's Apple Classroom
payload lists its teachers, pupils and devices.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CreatedAt
from app.models.tenancy import Group, School


class SchoolRoster(CreatedAt, Base):
    """Where a school's classes come from: its Feide organisation unit, and the last import's outcome."""

    __tablename__ = "school_rosters"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), unique=True)
    #: Feide's id of the school: ``fc:org:<realm>:unit:<organisation number>``.
    feide_org_unit: Mapped[str | None] = mapped_column(String(255), unique=True)
    last_import_at: Mapped[dt.datetime | None]
    #: "csv", "export" (the scheduler read the export folder) or "feide".
    last_import_source: Mapped[str | None] = mapped_column(String(16))
    #: A one-line summary ("30 classes: 2 new, 1 changed") or the error that stopped the import.
    last_import_outcome: Mapped[str | None] = mapped_column(Text)
    last_import_failed: Mapped[bool] = mapped_column(default=False)
    #: Modification time (ns) of the last export file read, so an unchanged file is not read again.
    export_mtime_ns: Mapped[int | None] = mapped_column(BigInteger)

    school: Mapped[School] = relationship()


class RosterClass(CreatedAt, Base):
    """A Flokk group made from a teaching group; ``external_id`` is the group's id at its source."""

    __tablename__ = "roster_classes"
    __table_args__ = (UniqueConstraint("school_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), unique=True)
    external_id: Mapped[str] = mapped_column(String(255))
    #: "csv" (an export of the administrative system) or "feide" (the Groups API).
    source: Mapped[str] = mapped_column(String(16))
    synced_at: Mapped[dt.datetime]

    group: Mapped[Group] = relationship()
    members: Mapped[list[RosterMember]] = relationship(
        back_populates="roster_class", cascade="all, delete-orphan", passive_deletes=True, order_by="RosterMember.id"
    )


class RosterMember(Base):
    """A teacher or pupil of a class, by Feide id (``ola@bergvik.kommune.no``)."""

    __tablename__ = "roster_members"
    __table_args__ = (UniqueConstraint("class_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("roster_classes.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: "teacher" or "student".
    role: Mapped[str] = mapped_column(String(16))

    roster_class: Mapped[RosterClass] = relationship(back_populates="members")
