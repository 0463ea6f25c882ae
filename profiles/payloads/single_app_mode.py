"""Single-app mode (``com.apple.app.lock``): lock a supervised device into one app (e.g. for tests)."""

from profiles.payloads.base import PayloadKind

KIND = PayloadKind(
    payload_type="com.apple.app.lock",
    alias="singleapp",
    title="Single-app mode",
)
