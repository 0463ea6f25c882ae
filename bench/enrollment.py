"""How long enrollment takes on the server: profile download and SCEP PKIOperation.

Run: ``python bench/enrollment.py [N]`` (SQLite in a temporary folder, in-process
Flask test client, the CA created as `flokk init` does: RSA 3072).
Prints the median and 95th percentile per request.
"""

from __future__ import annotations

import plistlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AttributeOID, NameOID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app, migrate  # noqa: E402
from app.config import Settings  # noqa: E402
from app.services import schools  # noqa: E402
from app.services.access import cli_principal  # noqa: E402
from app.services.mdm import enrollment
from app.services.pki import certificate_authority, push_certificates
from mdm_protocol import cms  # noqa: E402
from mdm_protocol.scep import messages  # noqa: E402
from tests.support.pki import write_push_files  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        settings = Settings(
            data_dir=data, database_url=f"sqlite:///{data / 'flokk.sqlite3'}",
            public_url="https://mdm.example.org", secret_key="bench-secret-key-0123456789abcdef0123",
        )
        app = create_app(settings)
        db = app.extensions["flokk"].db
        migrate.upgrade(db.engine)
        principal = cli_principal()
        with db.unit_of_work() as session:
            schools.ensure_organisation(session, "Bench kommune")
            certificate_authority.ensure_ca(session, principal, "Bench kommune")
            cert, key = write_push_files(data / "push")
            push_certificates.import_push_certificate(session, principal, cert.read_bytes(), key.read_bytes())
            schools.create_school(session, principal, name="Bench school", code="bench")
            secret = enrollment.create_token(session, principal, school_code="bench").url.rsplit("/", 1)[1]
            ca_certificate = certificate_authority.load_ca(session).certificate
        client = app.test_client()
        device_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SCEP SIGNER")])
        signer = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(device_key.public_key())
            .serial_number(1).not_valid_before(ca_certificate.not_valid_before_utc)
            .not_valid_after(ca_certificate.not_valid_after_utc).sign(device_key, hashes.SHA256())
        )
        profile_times, scep_times = [], []
        for number in range(count):
            started = time.perf_counter()
            response = client.get(f"/enroll/{secret}")
            profile_times.append(time.perf_counter() - started)
            profile = plistlib.loads(cms.verify(response.data).content)
            challenge = next(p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.security.scep")[
                "PayloadContent"]["Challenge"]
            csr = (
                x509.CertificateSigningRequestBuilder().subject_name(name)
                .add_attribute(AttributeOID.CHALLENGE_PASSWORD, challenge.encode()).sign(device_key, hashes.SHA256())
            )
            body = messages.build_request(
                csr, message_type=messages.MessageType.PKCS_REQ, signer_certificate=signer, signer_key=device_key,
                recipients=[ca_certificate], transaction_id=f"bench-{number}",
            )
            started = time.perf_counter()
            reply = client.post("/scep?operation=PKIOperation", data=body)
            scep_times.append(time.perf_counter() - started)
            assert reply.status_code == 200
        for label, values in (("GET /enroll/<token>", profile_times), ("POST /scep PKIOperation", scep_times)):
            print(f"{label:26} n={count}  median {statistics.median(values) * 1000:6.1f} ms"
                  f"  p95 {percentile(values, 0.95) * 1000:6.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
