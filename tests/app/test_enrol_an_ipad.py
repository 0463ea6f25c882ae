"""README's "Enrol an iPad", end to end against a running Flokk (`flokk serve`, gunicorn, TLS).

Central IT's steps run as commands; the device's steps are done by clients
nobody on this team wrote: OpenSSL checks the downloaded profile, and Debian's
scepclient (micromdm/scep) enrols at the SCEP URL the profile names, with the
profile's challenge, trusting only Flokk's CA.
"""

from __future__ import annotations

import os
import plistlib
import re
import socket
import ssl
import subprocess
import sys
import urllib.request

import pytest
from cryptography import x509

from tests.support.pki import PUSH_TOPIC, openssl_runner, run_scepclient, scepclient_binary, write_push_files
from tests.support.serving import wait_until_serving


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def flokk(environment, cli, tmp_path):
    """A Flokk as `make run` starts it (`flokk serve` in its own process), and `flokk` commands
    against the same database (in-process, to keep the test quick)."""
    if scepclient_binary() is None:
        pytest.skip("scepclient not installed: apt-get install scep (make test does this)")
    port = free_port()
    env = {**os.environ, **environment, "FLOKK_PUBLIC_URL": f"https://localhost:{port}"}
    cli.env = {**cli.env, "FLOKK_PUBLIC_URL": env["FLOKK_PUBLIC_URL"]}

    def run(*args: str) -> str:
        done = cli(*args)
        assert done.exit_code == 0, done.output
        return done.output

    run("init", "--organisation", "Bergvik kommune")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    ca_pem = tmp_path / "flokk-ca.pem"
    ca_pem.write_text(run("ca", "show", "--pem"))
    trust = ssl.create_default_context(cafile=str(ca_pem))
    wait_until_serving(f"https://localhost:{port}", trust, process, seconds=60)
    yield run, port, ca_pem, trust
    process.terminate()
    process.wait(timeout=30)


def test_enrol_an_ipad(flokk, tmp_path):
    run, port, ca_pem, trust = flokk
    # Central IT: push certificate, a school, an enrollment URL.
    cert, key = write_push_files(tmp_path / "apple")
    assert PUSH_TOPIC in run("apns", "import", str(cert), str(key))
    run("school", "add", "Nordby skole", "--code", "nordby")
    created = run("enroll", "token", "create", "--school", "nordby", "--expires", "30d", "--max-uses", "30")
    url = re.search(r"https://localhost:\d+/enroll/\S+", created).group(0)

    # The iPad opens the URL: a signed profile, over TLS that chains to Flokk's CA.
    with urllib.request.urlopen(url, context=trust, timeout=10) as response:
        assert response.headers["Content-Type"] == "application/x-apple-aspen-config"
        data = response.read()
    openssl = openssl_runner(tmp_path)
    (tmp_path / "nordby.mobileconfig").write_bytes(data)
    verified = openssl("smime", "-verify", "-inform", "DER", "-in", "nordby.mobileconfig", "-CAfile", str(ca_pem))
    profile = plistlib.loads(verified.stdout)
    tampered = bytearray(data)
    tampered[len(data) // 3] ^= 0x01
    (tmp_path / "tampered.mobileconfig").write_bytes(bytes(tampered))
    refused = openssl("cms", "-verify", "-inform", "DER", "-in", "tampered.mobileconfig", "-CAfile", str(ca_pem),
                      check=False)
    assert refused.returncode != 0

    (scep,) = [p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.security.scep"]
    (mdm,) = [p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.mdm"]
    assert scep["PayloadContent"]["URL"] == f"https://localhost:{port}/scep"
    assert mdm["Topic"] == PUSH_TOPIC and mdm["IdentityCertificateUUID"] == scep["PayloadUUID"]

    # The device's SCEP client, trusting only Flokk's CA, with a wrong and then the profile's challenge.
    client_env = {**os.environ, "SSL_CERT_FILE": str(ca_pem)}
    wrong = run_scepclient(scep["PayloadContent"]["URL"], tmp_path / "device", challenge="guessed",
                           env=client_env)
    assert wrong.returncode != 0 and "failInfo: badRequest" in wrong.output
    good = run_scepclient(scep["PayloadContent"]["URL"], tmp_path / "device",
                          challenge=scep["PayloadContent"]["Challenge"], env=client_env)
    assert good.returncode == 0, good.output
    chain = openssl("verify", "-CAfile", str(ca_pem), str(tmp_path / "device" / "client.pem"))
    assert b": OK" in chain.stdout
    assert good.certificate.subject.rfc4514_string() == "CN=Flokk device,OU=nordby,O=Bergvik kommune"
    assert isinstance(good.certificate, x509.Certificate)

    # Central IT sees it, in the right school, and the token counted one device.
    listed = run("ca", "certificates", "--school", "nordby")
    assert format(good.certificate.serial_number, "x") in listed
    assert "1/30" in run("enroll", "token", "list")
