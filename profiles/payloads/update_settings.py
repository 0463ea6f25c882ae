"""Software update settings (``com.apple.configuration.softwareupdate.settings``), a declaration.

Notifications, deferral, automatic downloads and installs, Rapid Security
Responses: the keys Apple's schema allows on iPadOS (several only on
supervised iPads, which resolution leaves out elsewhere, saying why). Devices
not managed declaratively use the restrictions' deferral keys instead.
"""

from profiles.payloads.base import PayloadKind

KIND = PayloadKind(
    payload_type="com.apple.configuration.softwareupdate.settings",
    alias="updatesettings",
    title="Software update settings",
    declaration=True,
)
