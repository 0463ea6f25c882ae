"""PKCS#1 certificate payload (``com.apple.security.pkcs1``): a DER certificate, CA or not.

Used for intermediate CAs and server certificates (e.g. a RADIUS server's).
"""

from profiles.payloads import _certificate
from profiles.payloads.base import PayloadKind

KIND = PayloadKind(
    payload_type="com.apple.security.pkcs1",
    alias="pkcs1cert",
    title="Certificate (PKCS#1)",
    repeatable=True,
    coerce=_certificate.to_der,
    check_value=lambda key, value: _certificate.check_certificate(key, value, require_ca=False),
    defaults=lambda instance: {"PayloadCertificateFileName": f"{instance}.cer"},
)
