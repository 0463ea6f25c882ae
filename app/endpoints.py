"""The URL paths devices are told about (in enrollment profiles) and Flokk serves.

One place, so the profile builder and the blueprints cannot disagree.
"""

#: SCEP (RFC 8894), `mdm_protocol.scep.http`.
SCEP = "/scep"
#: Enrollment profile download: ``/enroll/<token>``.
ENROLL = "/enroll"
#: The MDM ServerURL (command channel) and CheckInURL of the com.apple.mdm payload.
MDM_SERVER = "/mdm/connect"
MDM_CHECKIN = "/mdm/checkin"
#: Where Apple's Apps and Books posts notifications: ``/apps/notifications/<nonce>``.
APPS_NOTIFICATIONS = "/apps/notifications"
#: The ``url`` of the Automated Device Enrollment profile: an iPad in Setup Assistant posts its signed MachineInfo here.
ASM_ENROLL = "/asm/enroll"
#: Profiles a device managed declaratively installs from legacy-profile declarations:
#: ``/mdm/declared-profiles/<device id>/<token>/<identifier>/<version>``.
DECLARED_PROFILES = "/mdm/declared-profiles"
