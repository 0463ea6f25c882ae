"""MDM commands: typed builders for Flokk's catalogue, checked against Apple's schema.

Implements the server side of Apple's *MDM protocol* commands (Device
Management documentation, "Commands and Queries"). Use a builder
(``commands.device_lock(message="...")``) from code, :func:`build` with Apple
key names from the API, or :func:`build_from_strings` from the CLI; each
refuses a wrong parameter with a :class:`CommandError` naming the key.
"""

from mdm_protocol.commands.base import (
    DEFAULT_PLATFORM,
    DELIVERY_SECRETS,
    RESPONSE_SECRETS,
    Command,
    CommandError,
    build,
    new_command_uuid,
)
from mdm_protocol.commands.catalogue import *  # noqa: F403 - the builders are this package's API
from mdm_protocol.commands.catalogue import __all__ as _builders
from mdm_protocol.commands.params import build_from_strings, parse_params


def initial_inventory() -> list[Command]:
    """DeviceInformation, SecurityInfo, ProfileList, InstalledApplicationList."""
    return [device_information(), security_info(), profile_list(), installed_application_list()]  # noqa: F405


__all__ = [
    *_builders,
    "DEFAULT_PLATFORM",
    "DELIVERY_SECRETS",
    "RESPONSE_SECRETS",
    "Command",
    "CommandError",
    "build",
    "build_from_strings",
    "initial_inventory",
    "new_command_uuid",
    "parse_params",
]
