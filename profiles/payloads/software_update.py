"""Software update settings for Macs (``com.apple.SoftwareUpdate``): automatic checks and installs.

Deferral of updates (iPad and Mac) is a restrictions setting, see ``restrictions``.
"""

from profiles.payloads.base import PayloadKind

KIND = PayloadKind(
    payload_type="com.apple.SoftwareUpdate",
    alias="softwareupdate",
    title="Software update (Mac)",
)
