"""Certificates and clients for PKI tests: an Apple-like push certificate, Debian's scepclient."""

from __future__ import annotations

import datetime as dt
import functools
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

PUSH_TOPIC = "com.apple.mgmt.External.2f3b6a0e-1d57-4d1e-9a57-8c6f1f1d2b4c"


def push_certificate(
    key: rsa.RSAPrivateKey,
    *,
    uid: str | None = PUSH_TOPIC,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> x509.Certificate:
    """A certificate shaped like Apple's MDM push certificates (UID topic, CN "APSP:<uuid>").

    Apple signs the real ones; nobody can make one here, and Flokk checks the
    shape, the dates and the key, not Apple's signature.
    """
    now = dt.datetime.now(dt.UTC)
    attributes = []
    if uid is not None:
        attributes.append(x509.NameAttribute(NameOID.USER_ID, uid))
    attributes += [
        x509.NameAttribute(NameOID.COMMON_NAME, "APSP:2f3b6a0e-1d57-4d1e-9a57-8c6f1f1d2b4c"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
    ]
    issuer = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Apple Application Integration 2 Certification Authority")]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(days=1))
        .not_valid_after(not_after or now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def write_push_files(folder: Path, key: rsa.RSAPrivateKey | None = None, **options) -> tuple[Path, Path]:
    """push.pem and push.key as central IT downloads them."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "push.pem", folder / "push.key"
    cert_path.write_bytes(push_certificate(key, **options).public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass(frozen=True)
class ScepClientResult:
    returncode: int
    output: str
    certificate: x509.Certificate | None


def scepclient_binary() -> str | None:
    """Debian's `scepclient` (package `scep`, micromdm/scep); `make test` installs it."""
    return shutil.which("scepclient")


def run_scepclient(
    url: str,
    workdir: Path,
    *,
    challenge: str | None = None,
    renew: bool = False,
    common_name: str = "iPad",
    env: Mapping[str, str] | None = None,
) -> ScepClientResult:
    """Enrol with a fresh key (PKCSReq) or, with ``renew``, renew the certificate the last run got."""
    binary = scepclient_binary()
    assert binary is not None, "scepclient is not installed: apt-get install scep (make test does this)"
    workdir.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = workdir / "key.pem", workdir / "client.pem"
    stale = ("csr.pem",) if renew else ("key.pem", "client.pem", "csr.pem", "self.pem")
    for name in stale:
        (workdir / name).unlink(missing_ok=True)
    args = [binary, "-server-url", url, "-private-key", str(key_path), "-certificate", str(cert_path), "-cn", common_name]
    if challenge is not None:
        args += ["-challenge", challenge]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=workdir, env=env)
    certificate = None
    if done.returncode == 0 and cert_path.exists():
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return ScepClientResult(done.returncode, done.stdout + done.stderr, certificate)


@dataclass(frozen=True)
class Enrollment:
    """A Flokk ready to enrol: CA, push certificate, a school and one token."""

    school_id: int
    school_code: str
    token_id: int
    secret: str
    url: str
    ca_certificate: x509.Certificate


@functools.cache
def shared_ca():
    """One CA for the whole run (RSA generation is the slow part of these tests)."""
    from mdm_protocol.ca import CertificateAuthority

    return CertificateAuthority.create("Bergvik kommune Flokk CA", organization="Bergvik kommune", key_size=2048)


@functools.cache
def push_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def prepare_enrollment(db, tmp_path: Path, *, school_code: str = "linde", push: bool = True, **token_options) -> Enrollment:
    """What central IT does before the first iPad: a CA, the push certificate, a school, a token."""
    from app.services.access import cli_principal
    from app.services.mdm import enrollment
    from app.services.pki import certificate_authority, push_certificates
    from tests.support import factories

    principal = cli_principal()
    with db.unit_of_work() as session:
        authority = shared_ca()
        certificate_authority.import_ca(session, principal, authority.certificate_pem(), authority.key_pem())
        if push:
            cert_path, key_path = write_push_files(tmp_path / "push", push_key())
            push_certificates.import_push_certificate(
                session, principal, cert_path.read_bytes(), key_path.read_bytes()
            )
        school = factories.school(session, code=school_code, name="Brede School De Linde")
        created = enrollment.create_token(session, principal, school_code=school_code, **token_options)
        authority = certificate_authority.load_ca(session)
        return Enrollment(
            school_id=school.id,
            school_code=school.code,
            token_id=created.token.id,
            secret=created.url.rsplit("/", 1)[1],
            url=created.url,
            ca_certificate=authority.certificate,
        )


def openssl_runner(workdir: Path):
    """``run(*args, check=True)``: the openssl command line, run in ``workdir``."""
    binary = shutil.which("openssl")
    assert binary is not None, "openssl is needed (make test installs it)"

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([binary, *args], capture_output=True, cwd=workdir, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"openssl {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
        return result

    return run
