"""The ``DeclarativeManagement`` MDM command, and the daily inventory of a device that reports by itself.

Per ``mdm/commands/declarativemanagement.yaml``: the first one a device gets
turns on its declarative engine; later ones make it synchronise. ``Data``
(optional) is a ``TokensResponse`` as JSON, so the device can compare tokens
without asking for them first.

A device whose status channel is live reports its OS, model, identifiers and
passcode state itself (``status.DEVICE_INFORMATION_EQUIVALENTS``,
``status.SECURITY_INFO_EQUIVALENTS``): its daily inventory asks only the rest.
"""

from __future__ import annotations

import json

from mdm_protocol import apple_schema
from mdm_protocol import commands as mdm_commands
from mdm_protocol.commands import Command, CommandError
from mdm_protocol.declarative.declarations import SyncTokens
from mdm_protocol.declarative.status import DEVICE_INFORMATION_EQUIVALENTS

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


def inventory_commands() -> list[Command]:
    """The daily inventory without what status reports already say: no SecurityInfo, fewer queries."""
    reported = set(DEVICE_INFORMATION_EQUIVALENTS.values())
    queries = [query for query in mdm_commands.DEFAULT_DEVICE_QUERIES if query not in reported]
    return [mdm_commands.device_information(queries), mdm_commands.profile_list(),
            mdm_commands.installed_application_list()]
