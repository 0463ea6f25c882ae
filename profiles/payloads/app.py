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


def _configuration(key: str, value: Any) -> list[str]:
    """The configuration goes into a property list. Text, numbers and keys a plist cannot carry are the
    engine's check (``mdm_protocol.plist_values``); this adds what JSON has and a plist lacks: null, and
    empty keys; and a depth no app's settings need."""
    if key != "Configuration":
        return []
    pending: list[tuple[Any, str, int]] = [(value, "Configuration", 0)]
    while pending:
        item, path, depth = pending.pop()
        if depth > MAX_CONFIGURATION_DEPTH:
            return [f"{path} is nested more than {MAX_CONFIGURATION_DEPTH} levels deep"]
        if item is None:
            return [f"{path} must be text, a number, true/false, a date, data, a list or a dictionary (not null)"]
        if isinstance(item, dict):
            if any(not isinstance(name, str) or not name for name in item):
                return [f"{path} has a key that is not a non-empty string"]
            pending.extend((child, f"{path}.{name}", depth + 1) for name, child in item.items())
        elif isinstance(item, (list, tuple)):
            pending.extend((child, f"{path}[{index}]", depth + 1) for index, child in enumerate(item))
    return []


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
