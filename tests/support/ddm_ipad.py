"""A simulated iPad that speaks declarative device management (DDM), as Apple's client does.

It syncs the way Apple documents it (``tokens`` → ``declaration-items`` →
``declaration/<kind>/<identifier>`` for each new or changed declaration,
dropping those no longer listed), fetches the profiles its legacy
declarations name, and sends status reports built from the real captures in
``tests/fixtures/mdm-fixtures/jessepeterson+kmfddm`` (an iPhone on iOS 16 and
a Mac on macOS 13, with their declarations, client capabilities and an
invalid configuration's reasons), with the iPad's own model, OS and
declarations put in. OS update progress (``softwareupdate.*``) has no public
capture; those items follow Apple's schema.
"""

from __future__ import annotations

import copy
import json
import plistlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.support.ipad import Answer, SimulatedIpad, Transport

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mdm-fixtures" / "jessepeterson+kmfddm"
#: iOS 16: client capabilities, declarations (active, valid and invalid with reasons), device facts.
IPHONE_STATUS = CAPTURES / "ddm/testdata/A047820F-FC6B-4104-BED0-466876D82BB8.20220628-103225.001918.status.json"
#: macOS 13: the first report after enrolment (identifiers, OS build, supplemental version).
FIRST_STATUS = CAPTURES / "test/e2e/testdata/status.1st.json"
#: A configuration the device did not apply, with Apple's reason.
ERROR_STATUS = CAPTURES / "test/e2e/testdata/status.D0.error.json"
#: Declaration types an iPadOS 26 client adds to what the iOS 16 capture lists.
NEWER_CONFIGURATIONS = (
    "com.apple.configuration.softwareupdate.enforcement.specific",
    "com.apple.configuration.softwareupdate.settings",
)


def capture(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


@dataclass
class Held:
    """A declaration the iPad holds."""

    type: str
    server_token: str
    payload: dict[str, Any]


@dataclass
class Sync:
    """What one sync did: the answers to each request, what was fetched and dropped."""

    tokens: dict[str, Any]
    items: dict[str, Any] | None = None
    fetched: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    profiles: dict[str, bytes] = field(default_factory=dict)


class DdmError(AssertionError):
    """The server answered a declarative request with something other than 200."""


@dataclass
class DeclarativeIpad(SimulatedIpad):
    """An iPad on iPadOS 26 that answers Flokk's DeclarativeManagement command."""

    os_version: str = "26.0"
    build: str = "23A341"
    marketing_name: str = "iPad Air 11-inch (M2)"
    held: dict[str, Held] = field(default_factory=dict)
    declarations_token: str | None = None
    #: Identifier → (code, description, details) the device reports it could not apply.
    failures: dict[str, tuple[str, str, dict[str, Any]]] = field(default_factory=dict)

    # --- the check-in ----------------------------------------------------------------

    def declarative_message(self, endpoint: str, data: bytes | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"MessageType": "DeclarativeManagement", "UDID": self.udid, "Endpoint": endpoint}
        if data is not None:
            message["Data"] = data
        return message

    def declarative(self, transport: Transport, endpoint: str, data: bytes | None = None) -> Answer:
        return self.checkin(transport, self.declarative_message(endpoint, data))

    def _json(self, transport: Transport, endpoint: str) -> dict[str, Any]:
        answer = self.declarative(transport, endpoint)
        if answer.status != 200:
            raise DdmError(f"{endpoint}: {answer.status} {answer.body[:300]!r}")
        return json.loads(answer.body)

    # --- syncing, as Apple's client does ------------------------------------------------------

    def sync(self, transport: Transport, *, fetch_profiles: bool = True) -> Sync:
        """Tokens; if the declarations token changed, the manifest and every new or changed declaration."""
        result = Sync(self._json(transport, "tokens"))
        token = result.tokens["SyncTokens"]["DeclarationsToken"]
        if token == self.declarations_token:
            return result
        result.items = self._json(transport, "declaration-items")
        listed: dict[str, tuple[str, str]] = {}
        for key, kind in (("Activations", "activation"), ("Configurations", "configuration"),
                          ("Assets", "asset"), ("Management", "management")):
            for item in result.items["Declarations"][key]:
                listed[item["Identifier"]] = (kind, item["ServerToken"])
        for identifier in [identifier for identifier in self.held if identifier not in listed]:
            del self.held[identifier]
            result.dropped.append(identifier)
        for identifier, (kind, server_token) in sorted(listed.items()):
            current = self.held.get(identifier)
            if current is not None and current.server_token == server_token:
                continue
            document = self._json(transport, f"declaration/{kind}/{identifier}")
            assert document["Identifier"] == identifier and document["ServerToken"] == server_token, document
            self.held[identifier] = Held(document["Type"], document["ServerToken"], document["Payload"])
            result.fetched.append(identifier)
        self.declarations_token = result.items["DeclarationsToken"]
        if fetch_profiles:
            for identifier, held in self.held.items():
                if held.type == "com.apple.configuration.legacy" and identifier in result.fetched:
                    result.profiles[identifier] = self.fetch_profile(transport, held.payload["ProfileURL"])
        return result

    def fetch_profile(self, transport: Any, url: str) -> bytes:
        """GET a legacy profile's URL (the device does not sign this request)."""
        answer = transport.get(urlsplit(url).path)
        if answer.status != 200:
            raise DdmError(f"profile {url}: {answer.status}")
        return answer.body

    def command_data(self, answer: Answer) -> dict[str, Any] | None:
        """The TokensResponse a DeclarativeManagement command carries (None without Data)."""
        data = answer.command["Command"].get("Data") if answer.command else None
        return json.loads(data) if data else None

    def of_type(self, declaration_type: str) -> Held | None:
        return next((held for held in self.held.values() if held.type == declaration_type), None)

    # --- status, from the captures ------------------------------------------------------------

    def status_document(self, items: dict[str, Any] | None = None, *, full: bool = False) -> dict[str, Any]:
        """A StatusReport: the iPhone capture's shape with this iPad's facts and declarations.

        ``items`` adds or replaces status items by their dotted names
        (``{"passcode.is-compliant": False}``).
        """
        template = capture(IPHONE_STATUS)
        first = capture(FIRST_STATUS)
        report = copy.deepcopy(template)
        management = report["StatusItems"]["management"]
        management.pop("push-token", None)  # the iPhone's own; not part of the iPad's report
        configurations = management["client-capabilities"]["supported-payloads"]["declarations"]["configurations"]
        configurations.extend(name for name in NEWER_CONFIGURATIONS if name not in configurations)
        device = report["StatusItems"]["device"]
        device["identifier"] = copy.deepcopy(first["StatusItems"]["device"]["identifier"])
        device["identifier"].update({"udid": self.udid, "serial-number": self.serial})
        device["model"].update({"family": "iPad", "identifier": self.product, "marketing-name": self.marketing_name})
        device["operating-system"].update({"family": "iPadOS", "version": self.os_version, "build-version": self.build,
                                           "marketing-name": f"iPadOS {self.os_version}"})
        management["declarations"] = self._declaration_states(template)
        for name, value in (items or {}).items():
            _put(report["StatusItems"], name, value)
        if full:
            report["FullReport"] = True
        return report

    def _declaration_states(self, template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        captured = template["StatusItems"]["management"]["declarations"]
        invalid = next(item for item in captured["configurations"] if item["valid"] == "invalid")
        states: dict[str, list[dict[str, Any]]] = {"activations": [], "configurations": [], "assets": [], "management": []}
        for identifier, held in sorted(self.held.items()):
            kind = held.type.split(".")[2]
            key = {"activation": "activations", "configuration": "configurations", "asset": "assets"}.get(kind, kind)
            state = {"active": kind != "management", "identifier": identifier, "valid": "valid",
                     "server-token": held.server_token}
            if identifier in self.failures:
                code, description, details = self.failures[identifier]
                state = {**copy.deepcopy(invalid), "identifier": identifier, "server-token": held.server_token}
                state["reasons"] = [{"code": code, "description": description, "details": details}]
            states[key].append(state)
        return states

    def report_status(self, transport: Transport, document: dict[str, Any] | None = None) -> Answer:
        """Send a status report (by default the full one of :meth:`status_document`)."""
        body = json.dumps(document if document is not None else self.status_document(full=True)).encode()
        return self.declarative(transport, "status", body)

    def update_progress(self, transport: Transport, state: str, *, version: str = "", build: str = "",
                        failures: int = 0, reason: str | None = None) -> Answer:
        """An incremental report of OS update progress (Apple's ``softwareupdate.*`` items)."""
        failure: dict[str, Any] = {"count": failures}
        if reason:
            failure.update(reason=reason, timestamp="2026-10-15T09:12:44Z")
        report = {"StatusItems": {"softwareupdate": {
            "install-state": state,
            "pending-version": {"os-version": version, "build-version": build},
            "failure-reason": failure,
        }}, "Errors": []}
        return self.report_status(transport, report)

    def installed(self, transport: Transport, version: str, build: str) -> Answer:
        """The update is done: the iPad restarted on the new OS and reports it."""
        self.os_version, self.build = version, build
        report = {"StatusItems": {
            "device": {"operating-system": {"version": version, "build-version": build}},
            "softwareupdate": {"install-state": "none", "pending-version": {"os-version": "", "build-version": ""},
                               "failure-reason": {"count": 0}},
        }, "Errors": []}
        return self.report_status(transport, report)


def _put(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *path, last = dotted.split(".")
    for step in path:
        tree = tree.setdefault(step, {})
    tree[last] = value


def command_tokens(body: bytes) -> dict[str, Any] | None:
    """The TokensResponse inside a queued DeclarativeManagement command's plist body (None without Data)."""
    data = plistlib.loads(body)["Command"].get("Data")
    return json.loads(data) if data else None
