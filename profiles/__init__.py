"""Policy payloads, resolution and compilation: pure functions, no I/O.

The pieces, in the order data flows through them:

* ``model``        layers of entries (payload type, instance, key, value, lock)
* ``payloads``     the supported payload types, one small module each
* ``validation``   one setting against Apple's schema and the module's rules
* ``layers``       changing a layer; refusals for values locked above
* ``resolve``      a device's effective policy with provenance and left-out reasons
* ``compile``      per-platform compilers: Apple profiles, Chrome policies
* ``reconcile``    desired vs. reported profiles: what to install, remove, cancel
"""

from profiles.layers import Action, Change, Refusal, Refused, apply_changes, diff
from profiles.model import (
    LOCK_ONLY,
    PLATFORMS,
    REMOVED,
    WHOLE_PAYLOAD,
    DeviceFacts,
    Entry,
    Layer,
    LayerId,
    Level,
    PayloadRef,
    SettingRef,
)
from profiles.resolve import EffectivePayload, EffectivePolicy, EffectiveValue, LeftOut, Provenance, merge, resolve

__all__ = [
    "Action",
    "Change",
    "DeviceFacts",
    "EffectivePayload",
    "EffectivePolicy",
    "EffectiveValue",
    "Entry",
    "LOCK_ONLY",
    "Layer",
    "LayerId",
    "LeftOut",
    "Level",
    "PLATFORMS",
    "PayloadRef",
    "Provenance",
    "REMOVED",
    "Refusal",
    "Refused",
    "SettingRef",
    "WHOLE_PAYLOAD",
    "apply_changes",
    "diff",
    "merge",
    "resolve",
]
