"""The ``DeclarativeManagement`` MDM command, and the daily inventory of a device that reports by itself.

Per ``mdm/commands/declarativemanagement.yaml``: the first one a device gets
turns on its declarative engine; later ones make it synchronise. ``Data``
(optional) is a ``TokensResponse`` as JSON, so the device can compare tokens
without asking for them first.

A device whose status channel is live reports its OS, model, identifiers and
passcode state itself, as far as its OS has those status items
(``status.DEVICE_INFORMATION_EQUIVALENTS``, ``status.SECURITY_INFO_EQUIVALENTS``):
its daily inventory asks only the rest.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

from mdm_protocol import apple_schema
from mdm_protocol import commands as mdm_commands
from mdm_protocol.commands import Command, CommandError
from mdm_protocol.declarative.declarations import SyncTokens, canonical_json
from mdm_protocol.declarative import support
from mdm_protocol.declarative.status import DEVICE_INFORMATION_EQUIVALENTS, SECURITY_INFO_EQUIVALENTS

REQUEST_TYPE = "DeclarativeManagement"


def sync_command(tokens: SyncTokens | None = None) -> Command:
    """The command; without tokens the device asks for them (``tokens`` endpoint) itself."""
    params = {}
    if tokens is not None:
        params["Data"] = json.dumps(tokens.tokens_response(), separators=(",", ":")).encode("utf-8")
    problems = apple_schema.check(apple_schema.command(REQUEST_TYPE).keys, params, platform="ipados")
    if problems:
        raise CommandError(problems[0].path, problems[0].reason)
    return Command(REQUEST_TYPE, params)


class SyncBodies:
    """DeclarativeManagement bodies for many devices at once, each with its own CommandUUID and tokens.

    The plist is rendered once (and the command checked against Apple's
    schema once); each body then only gets its UUID and base64 ``Data`` put in.
    Telling 50,000 iPads their new tokens costs 50,000 string joins, not
    50,000 plist renderings.
    """

    _UUID = "00000000-0000-4000-8000-000000000000"
    _DATA = b"\x00flokk-data\x00"

    def __init__(self) -> None:
        checked = sync_command(SyncTokens("0", dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
        rendered = Command(REQUEST_TYPE, {**checked.params, "Data": self._DATA}).to_plist(self._UUID)
        head, _, rest = rendered.partition(b"<data>")
        _, _, tail = rest.partition(b"</data>")
        self._head, self._tail = head + b"<data>", b"</data>" + tail

    def body(self, command_uuid: str, tokens: SyncTokens) -> bytes:
        """The body ``sync_command(tokens).to_plist(command_uuid)`` would give (base64 on one line)."""
        data = base64.b64encode(canonical_json(tokens.tokens_response()))
        marker, uuid = self._UUID.encode(), command_uuid.encode("ascii")
        return self._head.replace(marker, uuid) + data + self._tail.replace(marker, uuid)


def inventory_commands(platform: str, os_version: str) -> list[Command]:
    """The daily inventory without what a device on this OS reports by itself (per Apple's schema):
    fewer DeviceInformation queries, and no SecurityInfo where it reports its passcode state."""
    reported = support.status_items(platform, os_version, supervised=False, shared_ipad=False)
    answered = {query for item, query in DEVICE_INFORMATION_EQUIVALENTS.items() if item in reported}
    queries = [query for query in mdm_commands.DEFAULT_DEVICE_QUERIES if query not in answered]
    found = [mdm_commands.device_information(queries)]
    if not all(item in reported for item in SECURITY_INFO_EQUIVALENTS):
        found.append(mdm_commands.security_info())
    return [*found, mdm_commands.profile_list(), mdm_commands.installed_application_list()]
