"""Root certificate payload (``com.apple.security.root``): a CA the device trusts.

Wi-Fi and education payloads name such certificates as trust anchors.
"""

from profiles.payloads import _certificate
from profiles.payloads.base import PayloadKind

KIND = PayloadKind(
    payload_type="com.apple.security.root",
    alias="rootcert",
    title="Root certificate",
    repeatable=True,
    coerce=_certificate.to_der,
    check_value=lambda key, value: _certificate.check_certificate(key, value, require_ca=True),
    defaults=lambda instance: {"PayloadCertificateFileName": f"{instance}.cer"},
)
