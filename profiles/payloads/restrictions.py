"""Restrictions (``com.apple.applicationaccess``): camera, app store, AirDrop, ...

Software update deferral on iPad and Mac lives here too, as Apple defines it:
``forceDelayedSoftwareUpdates`` with ``enforcedSoftwareUpdateDelay`` (days),
and the major/minor variants (``forceDelayedMajorSoftwareUpdates`` with
``enforcedSoftwareUpdateMajorOSDeferredInstallDelay``, ...). Flokk merges all
layers into one restrictions payload per device, so a school can relax a
default the baseline set; Apple would otherwise combine several restrictions
payloads by taking the most restrictive value.
"""

from profiles.payloads.base import PayloadKind

KIND = PayloadKind(
    payload_type="com.apple.applicationaccess",
    alias="restrictions",
    title="Restrictions",
)
