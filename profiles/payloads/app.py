"""Apps (``app:<store id>``): one setting per app, in the same layers, locks and history as profiles.

The instance is the app's id in its store: for the App Store (iPads) the
numeric Adam ID that Apps and Books lists (``app:361304891``). The keys are
platform-neutral; each platform's stage of the reconciler carries them out
(for iPads: an Apps and Books licence, then InstallApplication,
RemoveApplication and Settings/ApplicationConfiguration):

* ``State`` — ``required`` (installed and kept), ``available`` (allowed:
  central IT's catalogue for schools and classes to pick from; not pushed,
  and a device that got it while it was required gives it and its licence
  back), ``removed`` (removed if present, its licence released);
* ``Configuration`` — the managed app configuration (a dictionary the app
  reads, Apple's AppConfig; for a Chrome extension its policy);
* ``RemoveOnUnenroll`` — remove the app when the device leaves management
  (Apple's ManagementFlags 1); true when unset.

An app is not an Apple profile payload, so the kind carries its own schema
in Apple's format: validation, locks, resolution and provenance are the
engine's usual ones. Chromebooks have no mapping yet: resolution leaves apps
out for them with that reason until the Chromebook integration adds one.
"""

import datetime as dt
import math
from typing import Any

from mdm_protocol.apple_schema import KeySpec, Spec

from profiles.payloads.base import PayloadKind

PAYLOAD_TYPE = "flokk.app"
REQUIRED, AVAILABLE, REMOVED_STATE = "required", "available", "removed"
STATES = (REQUIRED, AVAILABLE, REMOVED_STATE)
#: Device-assigned Apps and Books licences (no Apple ID) need iOS 9.
_IOS = {"iOS": {"introduced": "9.0"}}
#: App Store ids are numbers; 15 digits leave room (today's are 9 or 10).
MAX_STORE_ID_DIGITS = 15

SPEC = Spec(
    kind="flokk",
    name=PAYLOAD_TYPE,
    title="App",
    supported_os=_IOS,
    keys=(
        KeySpec(
            "State", "string", required=True, allowed=STATES, supported_os=_IOS,
            title="required: installed and kept; available: allowed, not pushed; removed: removed if present",
        ),
        KeySpec(
            "Configuration", "dictionary", supported_os=_IOS, title="Managed app configuration",
            subkeys=(KeySpec("ANY", "any", supported_os=_IOS),),
        ),
        KeySpec("RemoveOnUnenroll", "boolean", default=True, supported_os=_IOS,
                title="Remove the app when the device leaves management"),
    ),
    source="profiles/payloads/app.py",
)


#: A configuration nested deeper than this is not an app's settings.
MAX_CONFIGURATION_DEPTH = 20
_PLIST_INT = (-(2**63), 2**64 - 1)


def _configuration(key: str, value: Any) -> list[str]:
    """The configuration goes into a property list: every value must be one a plist can hold."""
    if key != "Configuration":
        return []
    problem = _plist_problem(value, "Configuration", 0)
    return [problem] if problem else []


def _plist_problem(value: Any, path: str, depth: int) -> str | None:
    if depth > MAX_CONFIGURATION_DEPTH:
        return f"{path} is nested more than {MAX_CONFIGURATION_DEPTH} levels deep"
    if isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str) or not name:
                return f"{path} has a key that is not a non-empty string"
            problem = _plist_problem(item, f"{path}.{name}", depth + 1)
            if problem:
                return problem
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            problem = _plist_problem(item, f"{path}[{index}]", depth + 1)
            if problem:
                return problem
        return None
    if isinstance(value, bool) or isinstance(value, (str, bytes, dt.datetime)):
        return None
    if isinstance(value, int):
        return None if _PLIST_INT[0] <= value <= _PLIST_INT[1] else f"{path} is a number too large for an app's settings"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} must be a finite number"
    return f"{path} must be text, a number, true/false, a date, data, a list or a dictionary (not null)"


def _store_id(instance: str) -> str | None:
    if instance.isdigit() and len(instance) <= MAX_STORE_ID_DIGITS and not instance.startswith("0"):
        return None
    return "an app is named by its App Store id (the Adam ID Apps and Books lists), e.g. app:361304891"


KIND = PayloadKind(
    payload_type=PAYLOAD_TYPE,
    alias="app",
    title="App",
    repeatable=True,
    check_instance=_store_id,
    check_value=_configuration,
    profile=False,
    schema=SPEC,
)
