"""Education (``com.apple.education``): the Shared iPad login screen and Classroom groups.

Flokk's policy configures the organisation, departments, groups and users
shown on Shared iPad; Apple marks ``UserIdentifier`` required but says not to
set it for the Shared iPad login screen, so it is optional here. Classroom
peer identities (identity certificates) are not part of the policy yet; trust
anchors for leaders and members name root or PKCS#1 certificate payloads.
"""

from profiles.payloads.base import PayloadKind, Reference

_CERTIFICATES = ("com.apple.security.root", "com.apple.security.pkcs1")

KIND = PayloadKind(
    payload_type="com.apple.education",
    alias="education",
    title="Education / Shared iPad",
    references=(
        Reference(path=("LeaderPayloadCertificateAnchorUUID",), targets=_CERTIFICATES),
        Reference(path=("MemberPayloadCertificateAnchorUUID",), targets=_CERTIFICATES),
    ),
    optional_keys=frozenset({"UserIdentifier"}),
    forbidden_keys={
        "PayloadCertificateUUID": "identity certificates are not part of the policy yet",
        "ResourcePayloadCertificateUUID": "identity certificates are not part of the policy yet",
    },
)
