"""Home screen layout (``com.apple.homescreenlayout``): dock and pages of apps, folders and web clips.

Supervised devices only (Apple's schema says so; resolution leaves it out elsewhere).
"""

from profiles.payloads.base import PayloadKind

KIND = PayloadKind(
    payload_type="com.apple.homescreenlayout",
    alias="homescreen",
    title="Home screen layout",
)
