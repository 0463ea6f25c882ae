"""Reconciliation: what to install and remove so a device converges to its desired profiles.

A pure diff of three inputs: the desired artifacts (identifier + version,
e.g. PayloadIdentifier + PayloadUUID), what the device last reported
(ProfileList) and the commands already queued or sent for it. Commands in
flight count as done, so running the reconciler twice queues nothing new;
queued commands a newer policy made pointless are listed for cancelling.

Only profiles inside Flokk's policy namespace are ever removed. Profiles
installed by hand or by other means are reported, never silently removed,
and a desired identifier held by a hand-installed profile is reported as
blocked instead of being queued (and failing) on every check-in.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Desired:
    identifier: str
    version: str


@dataclass(frozen=True)
class Reported:
    """One profile from the device's ProfileList; ``managed`` is Apple's IsManaged."""

    identifier: str
    version: str
    managed: bool = True
    display_name: str = ""


class PendingAction(enum.Enum):
    INSTALL = "install"
    REMOVE = "remove"


@dataclass(frozen=True)
class Pending:
    """A command queued or sent but not yet answered, in queue order.

    ``cancellable`` is true while the device has not fetched it yet.
    """

    action: PendingAction
    identifier: str
    version: str | None
    command_id: str
    cancellable: bool = True


@dataclass(frozen=True)
class Blocked:
    desired: Desired
    reason: str


@dataclass(frozen=True)
class Plan:
    install: tuple[Desired, ...] = ()
    remove: tuple[str, ...] = ()
    cancel: tuple[str, ...] = ()
    #: Installed profiles outside the policy: reported to admins, left alone.
    unmanaged: tuple[Reported, ...] = ()
    blocked: tuple[Blocked, ...] = ()

    @property
    def changes_nothing(self) -> bool:
        return not (self.install or self.remove or self.cancel)


def reconcile(
    desired: Iterable[Desired],
    reported: Iterable[Reported],
    pending: Iterable[Pending] = (),
    *,
    namespace: str,
    known_elsewhere: frozenset[str] = frozenset(),
    failed: frozenset[tuple[str, str]] = frozenset(),
) -> Plan:
    """The commands that make the device hold exactly the desired profiles of ``namespace``.

    ``known_elsewhere`` names identifiers Flokk manages outside the policy
    (the enrolment profile): neither removed nor reported as unmanaged.
    ``failed`` holds (identifier, version) pairs the device refused since its
    last report: they are reported as blocked, not queued again and again.
    """
    wanted = {item.identifier: item for item in desired}
    for identifier in wanted:
        if not identifier.startswith(namespace):
            raise ValueError(f"desired profile {identifier!r} is outside the policy namespace {namespace!r}")
    device = list(reported)
    by_hand = {item.identifier: item for item in device if not item.managed}

    cancel: list[str] = []
    kept: list[Pending] = []
    for command in pending:
        target = wanted.get(command.identifier)
        stale = (
            target is None or command.version != target.version
            if command.action is PendingAction.INSTALL
            else target is not None
        )
        if stale and command.cancellable and command.identifier.startswith(namespace):
            cancel.append(command.command_id)
        else:
            kept.append(command)

    expected = {item.identifier: item.version for item in device if item.managed}
    for command in kept:
        if command.action is PendingAction.INSTALL:
            expected[command.identifier] = command.version or ""
        else:
            expected.pop(command.identifier, None)

    install: list[Desired] = []
    blocked: list[Blocked] = []
    for identifier in sorted(wanted):
        target = wanted[identifier]
        if expected.get(identifier) == target.version:
            continue
        if (identifier, target.version) in failed:
            blocked.append(Blocked(target, "the device refused this version; see the command's error"))
            continue
        if identifier in by_hand:
            blocked.append(Blocked(target, "a profile with this identifier was installed by hand; remove it on the device first"))
            continue
        install.append(target)
    remove = sorted(
        identifier for identifier in expected if identifier.startswith(namespace) and identifier not in wanted
    )
    unmanaged = tuple(
        item
        for item in sorted(device, key=lambda item: item.identifier)
        if item.identifier not in known_elsewhere and (not item.identifier.startswith(namespace) or not item.managed)
    )
    return Plan(tuple(install), tuple(remove), tuple(cancel), unmanaged, tuple(blocked))
