"""The fake Apple device enrollment service over TLS, and the recipient key ASM encrypts tokens to."""

from __future__ import annotations

import ssl

import pytest

from mdm_protocol.asm import client as dep
from tests.fakes import pki
from tests.fakes.dep import FakeDep
from tests.mdm_protocol.conftest import self_signed


@pytest.fixture(scope="session")
def dep_tls():
    ca = pki.make_ca("Fake DEP CA")
    return ca, pki.issue(ca, "localhost", server_names=("127.0.0.1", "localhost"))


@pytest.fixture
def fake_dep(dep_tls):
    _, server = dep_tls
    with FakeDep(cert_pem=server.cert_pem, key_pem=server.key_pem) as fake:
        yield fake


@pytest.fixture(scope="session")
def recipient(rsa_keys):
    """Flokk's ASM key pair: the certificate central IT uploads to ASM."""
    key = rsa_keys[2]
    return self_signed(key, "Flokk Apple School Manager", ca=False), key


@pytest.fixture
def make_client(fake_dep, dep_tls):
    ca, _ = dep_tls
    sleeps: list[float] = []

    def make(credentials=None, **options) -> dep.DepClient:
        from mdm_protocol.asm.token import OAuthTokens

        credentials = credentials or fake_dep.credentials
        tokens = OAuthTokens(credentials.consumer_key, credentials.consumer_secret, credentials.access_token,
                             credentials.access_secret, credentials.expiry)
        trust = ssl.create_default_context(cadata=ca.cert_pem.decode())
        client = dep.DepClient(tokens, transport=dep.HttpsTransport(trust), base_url=fake_dep.url,
                               sleep=sleeps.append, **options)
        client.sleeps = sleeps  # type: ignore[attr-defined]
        return client

    return make
