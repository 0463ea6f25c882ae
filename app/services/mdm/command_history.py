"""The commands admins have sent, as they see them: scoped, filtered, newest first."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, joinedload

from app.models.commands import Command
from app.models.devices import Device
from app.services.access import Principal, get_for, scoped
from app.services.fleet.schools import get_school_by_code


@dataclass(frozen=True)
class CommandFilter:
    school: str | None = None
    device_id: int | None = None
    status: str | None = None
    request_type: str | None = None


def list_commands(session: Session, principal: Principal, where: CommandFilter, *, limit: int = 100) -> list[Command]:
    statement = scoped(Command, principal).options(joinedload(Command.device))
    if where.school:
        statement = statement.where(Command.school_id == get_school_by_code(session, principal, where.school).id)
    if where.device_id is not None:
        statement = statement.where(Command.device_id == get_for(session, Device, where.device_id, principal).id)
    if where.status:
        statement = statement.where(Command.status == where.status)
    if where.request_type:
        statement = statement.where(Command.request_type == where.request_type)
    return list(session.scalars(statement.order_by(Command.id.desc()).limit(min(limit, 1000))))


def get_command(session: Session, principal: Principal, command_id: int) -> Command:
    return get_for(session, Command, command_id, principal)
