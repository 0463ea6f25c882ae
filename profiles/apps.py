"""Apps of an effective policy, and what one device needs so its apps follow it: pure, no I/O.

``desired_apps`` reads the ``app:<store id>`` settings of an effective
policy. ``plan_apps`` is to apps what ``profiles.reconcile`` is to profiles:
a diff of what the policy wants, what the device last reported
(ManagedApplicationList, and InstalledApplicationList for apps it does not
manage), the licences Flokk holds for the device and the app commands in
flight. Commands in flight count as done, so planning twice queues nothing
new; queued commands a newer policy made pointless are listed for
cancelling. An app is installed only once its licence is assigned to the
device; a required app waits (with the reason) for a licence, and an app
that is no longer required on the device (it left the list, is only
available, or is marked removed) is removed and its licence released. Apps the device refused (the user declined, the install
failed) are reported as blocked, with Apple's words, not queued again and
again.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from profiles.payloads.app import AVAILABLE, PAYLOAD_TYPE, REMOVED_STATE, REQUIRED
from profiles.resolve import EffectivePolicy
from profiles.values import canonical

#: ManagedApplicationList statuses (Apple's application.managed.list schema) by what they mean for Flokk.
INSTALLED = frozenset({"Managed"})
IN_PROGRESS = frozenset({
    "Queued", "NeedsRedemption", "Redeeming", "Prompting", "PromptingForLogin", "ValidatingPurchase",
    "PromptingForUpdate", "PromptingForUpdateLogin", "PromptingForManagement", "ValidatingUpdate", "Updating",
    "Installing",
})
REFUSED = {
    "UserRejected": "the user declined the installation",
    "UpdateRejected": "the user declined the update",
    "ManagementRejected": "the user declined to let the school manage the app",
    "Failed": "the installation failed on the device",
}


@dataclass(frozen=True)
class DesiredApp:
    """What the effective policy says about one app."""

    store_id: str
    state: str
    configuration: Mapping[str, Any] | None = None
    remove_on_unenroll: bool = True
    locked: bool = False

    @property
    def config_version(self) -> str | None:
        """A digest of the configuration (None without one): equal configurations, equal versions."""
        if self.configuration is None:
            return None
        return hashlib.sha256(canonical(self.configuration).encode("utf-8")).hexdigest()[:32]


def desired_apps(policy: EffectivePolicy) -> dict[str, DesiredApp]:
    """The apps of an effective policy, by store id."""
    found: dict[str, DesiredApp] = {}
    for payload in policy.payloads:
        if payload.ref.payload_type != PAYLOAD_TYPE:
            continue
        values = payload.plain()
        found[payload.ref.instance] = DesiredApp(
            store_id=payload.ref.instance,
            state=values["State"],
            configuration=values.get("Configuration"),
            remove_on_unenroll=values.get("RemoveOnUnenroll", True),
            locked=payload.locked,
        )
    return found


@dataclass(frozen=True)
class CatalogueApp:
    """An app among the organisation's Apps and Books assets."""

    store_id: str
    bundle_id: str | None
    device_assignable: bool = True


class LicenceState(enum.StrEnum):
    WANTED = "wanted"  # to be assigned (waiting for a free licence, or for the next round)
    ASSOCIATING = "associating"  # asked Apple; the event is pending
    ASSOCIATED = "associated"
    RELEASING = "releasing"  # to be (or being) released


@dataclass(frozen=True)
class Licence:
    state: LicenceState
    #: Why it is still waiting (no free licence, Apple's error), shown to admins.
    reason: str | None = None


@dataclass(frozen=True)
class ReportedApp:
    """One entry of the device's ManagedApplicationList."""

    status: str
    has_configuration: bool = False


class AppAction(enum.StrEnum):
    INSTALL = "install"
    REMOVE = "remove"
    CONFIGURE = "configure"
    QUERY = "query"  # ManagedApplicationList (asked by the scheduler a little after installs)


@dataclass(frozen=True)
class PendingApp:
    """An app command queued or sent and not yet reported on; ``version``: the configuration it carries."""

    action: AppAction
    store_id: str | None
    command_id: str
    version: str | None = None
    cancellable: bool = True


@dataclass(frozen=True)
class DeviceApps:
    """What is known about one device's apps."""

    licences: Mapping[str, Licence] = field(default_factory=dict)
    #: ManagedApplicationList by bundle id; None when the device has not answered one yet.
    reported: Mapping[str, ReportedApp] | None = None
    #: Bundle ids the device reported installed (InstalledApplicationList) that it does not manage.
    unmanaged: frozenset[str] = frozenset()
    pending: tuple[PendingApp, ...] = ()
    #: Installs the device refused since its last report, with the reason.
    failed: Mapping[str, str] = field(default_factory=dict)
    #: The configuration version Flokk last delivered per app (None: delivered without one).
    configured: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class AppPlan:
    request_licences: tuple[str, ...] = ()
    release_licences: tuple[str, ...] = ()
    install: tuple[DesiredApp, ...] = ()
    #: (store id, bundle id) of apps to remove.
    remove: tuple[tuple[str, str], ...] = ()
    configure: tuple[DesiredApp, ...] = ()
    cancel: tuple[str, ...] = ()
    #: What each app of the device is doing, in a few words, by store id.
    states: Mapping[str, str] = field(default_factory=dict)
    #: Apps that cannot go on without someone acting: (store id, reason).
    blocked: tuple[tuple[str, str], ...] = ()

    @property
    def changes_nothing(self) -> bool:
        return not (self.request_licences or self.release_licences or self.install or self.remove
                    or self.configure or self.cancel)


_UNKNOWN_CONFIGURATION = "unknown"


#: Why an app the policy names cannot be installed when the catalogue does not have it.
NOT_IN_CATALOGUE = "not among the organisation's Apps and Books apps (run flokk apps sync)"


def plan_apps(
    desired: Mapping[str, DesiredApp],
    catalogue: Mapping[str, CatalogueApp],
    device: DeviceApps,
    *,
    not_in_catalogue: str = NOT_IN_CATALOGUE,
) -> AppPlan:
    """The licence requests and commands that make the device's apps follow ``desired``.

    ``not_in_catalogue`` is the reason given for apps the catalogue lacks (no token yet, say).
    """
    cancel, kept = _sort_pending(desired, device.pending)
    in_flight = {(item.action, item.store_id) for item in kept}
    plan = _Builder(cancel=cancel)
    reported = device.reported or {}
    for store_id in sorted(desired):
        app = desired[store_id]
        entry = catalogue.get(store_id)
        if entry is None or not entry.bundle_id:
            plan.block(store_id, not_in_catalogue if entry is None else "its bundle id is not known yet (run flokk apps sync)")
            continue
        status = reported.get(entry.bundle_id)
        licence = device.licences.get(store_id)
        if app.state == REQUIRED:
            _required(plan, app, entry, status, licence, device, in_flight)
        elif app.state == AVAILABLE and licence is None:
            installed = status is not None and status.status in INSTALLED
            plan.states[store_id] = "installed, not by Flokk" if installed else "available, not installed"
        elif app.state == REMOVED_STATE:
            _removed(plan, app, entry, status, licence, device, in_flight)
    # Apps the device holds Flokk's licence for but no longer needs (left its list, or only
    # available now): remove what Flokk installed and release the licence.
    required = {store_id for store_id, app in desired.items() if app.state == REQUIRED}
    for store_id in sorted(set(device.licences) - required):
        if store_id in desired and desired[store_id].state == REMOVED_STATE:
            continue
        licence = device.licences[store_id]
        if licence.state is not LicenceState.RELEASING:
            plan.release.append(store_id)
        entry = catalogue.get(store_id)
        status = reported.get(entry.bundle_id) if entry and entry.bundle_id else None
        if _present(status) and licence.state is not LicenceState.WANTED:
            _remove(plan, store_id, entry.bundle_id, in_flight)  # type: ignore[union-attr]
        else:
            plan.states[store_id] = "licence being released"
    return plan.build()


def _required(plan: _Builder, app: DesiredApp, entry: CatalogueApp, status: ReportedApp | None,
              licence: Licence | None, device: DeviceApps, in_flight: set) -> None:
    store_id = app.store_id
    if not entry.device_assignable:
        plan.block(store_id, "its Apps and Books licences cannot be assigned to devices")
        return
    if licence is None:
        plan.request.append(store_id)
        plan.states[store_id] = "waiting for a licence"
        return
    if licence.state is not LicenceState.ASSOCIATED:
        reason = licence.reason or ("the licence is being released" if licence.state is LicenceState.RELEASING
                                    else "Apps and Books is assigning the licence")
        plan.states[store_id] = f"waiting for a licence: {reason}"
        return
    if (AppAction.INSTALL, store_id) in in_flight:
        plan.states[store_id] = "installing"
        return
    if store_id in device.failed:
        plan.block(store_id, device.failed[store_id])
        return
    if status is not None and status.status in REFUSED:
        plan.block(store_id, f"{REFUSED[status.status]} ({status.status})")
        return
    if status is not None and status.status in IN_PROGRESS:
        plan.states[store_id] = f"installing ({status.status})"
        return
    if status is None or status.status not in INSTALLED:
        plan.install.append(app)
        plan.states[store_id] = "to install"
        return
    plan.states[store_id] = "installed"
    _configure(plan, app, status, device, in_flight)


def _configure(plan: _Builder, app: DesiredApp, status: ReportedApp, device: DeviceApps, in_flight: set) -> None:
    if (AppAction.CONFIGURE, app.store_id) in in_flight or (AppAction.INSTALL, app.store_id) in in_flight:
        return
    current = device.configured.get(app.store_id, _UNKNOWN_CONFIGURATION)
    if current == _UNKNOWN_CONFIGURATION:
        current = _UNKNOWN_CONFIGURATION if status.has_configuration else None
    if current != app.config_version:
        plan.configure.append(app)
        plan.states[app.store_id] = "installed; configuration to update"


def _removed(plan: _Builder, app: DesiredApp, entry: CatalogueApp, status: ReportedApp | None,
             licence: Licence | None, device: DeviceApps, in_flight: set) -> None:
    store_id, bundle_id = app.store_id, entry.bundle_id
    assert bundle_id is not None
    if licence is not None and licence.state is not LicenceState.RELEASING:
        plan.release.append(store_id)
    if _present(status):
        _remove(plan, store_id, bundle_id, in_flight)
    elif bundle_id in device.unmanaged:
        plan.block(store_id, "installed by the user: Flokk can only remove apps it manages")
    else:
        plan.states[store_id] = "removed" if (AppAction.REMOVE, store_id) not in in_flight else "removing"


def _remove(plan: _Builder, store_id: str, bundle_id: str, in_flight: set) -> None:
    if (AppAction.REMOVE, store_id) in in_flight:
        plan.states[store_id] = "removing"
        return
    plan.remove.append((store_id, bundle_id))
    plan.states[store_id] = "to remove"


def _present(status: ReportedApp | None) -> bool:
    return status is not None and (status.status in INSTALLED or status.status in IN_PROGRESS)


def _sort_pending(desired: Mapping[str, DesiredApp], pending: Iterable[PendingApp]) -> tuple[list[str], list[PendingApp]]:
    """Pending commands a newer policy made pointless (cancelled if still queued), and the rest."""
    cancel: list[str] = []
    kept: list[PendingApp] = []
    for command in pending:
        app = desired.get(command.store_id) if command.store_id else None
        if command.action is AppAction.INSTALL:
            stale = app is None or app.state != REQUIRED
        elif command.action is AppAction.REMOVE:
            stale = app is not None and app.state != REMOVED_STATE
        elif command.action is AppAction.CONFIGURE:
            stale = app is None or app.state == REMOVED_STATE or command.version != app.config_version
        else:
            stale = False
        if stale and command.cancellable:
            cancel.append(command.command_id)
        else:
            kept.append(command)
    return cancel, kept


@dataclass
class _Builder:
    cancel: list[str]
    request: list[str] = field(default_factory=list)
    release: list[str] = field(default_factory=list)
    install: list[DesiredApp] = field(default_factory=list)
    remove: list[tuple[str, str]] = field(default_factory=list)
    configure: list[DesiredApp] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)
    blocked: list[tuple[str, str]] = field(default_factory=list)

    def block(self, store_id: str, reason: str) -> None:
        self.blocked.append((store_id, reason))
        self.states[store_id] = f"blocked: {reason}"

    def build(self) -> AppPlan:
        return AppPlan(
            request_licences=tuple(self.request),
            release_licences=tuple(self.release),
            install=tuple(self.install),
            remove=tuple(self.remove),
            configure=tuple(self.configure),
            cancel=tuple(self.cancel),
            states=dict(self.states),
            blocked=tuple(self.blocked),
        )
