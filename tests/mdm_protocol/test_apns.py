"""APNs client against the local HTTP/2 fake: headers, multiplexing, invalid tokens, back-off."""

from __future__ import annotations

import asyncio
import json

import pytest

from mdm_protocol import apns
from mdm_protocol.apns import ApnsClient, ApnsSettings, Outcome, Push, _Connection
from tests.fakes import pki
from tests.fakes.apns import FakeApns

TOPIC = "com.apple.mgmt.External.11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def tls():
    ca = pki.make_ca("Fake APNs CA")
    return {
        "ca": ca,
        "server": pki.issue(ca, "localhost", server_names=("127.0.0.1",)),
        "push": pki.push_identity(ca, TOPIC),
    }


@pytest.fixture(scope="module")
def server(tls):
    with FakeApns(
        server_cert_pem=tls["server"].cert_pem, server_key_pem=tls["server"].key_pem, client_ca_pem=tls["ca"].cert_pem
    ) as fake:
        yield fake


@pytest.fixture
def fake(server):
    server.reset()
    return server


def settings_for(fake, identity, *, topic=TOPIC, ca_file=None, **overrides):
    return ApnsSettings(topic=topic, cert_pem=identity.cert_pem, key_pem=identity.key_pem, url=fake.url,
                        ca_file=ca_file, **overrides)


@pytest.fixture
def settings(fake, tls, tmp_path):
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(tls["ca"].cert_pem)
    return settings_for(fake, tls["push"], ca_file=str(ca_file), backoff_base=0.01, backoff_cap=0.05)


def token(n: int) -> bytes:
    return n.to_bytes(32, "big")


def run(settings, pushes, sleep=None):
    async def go():
        kwargs = {"sleep": sleep} if sleep else {}
        async with ApnsClient(settings, **kwargs) as client:
            return await client.push_many(pushes)

    return asyncio.run(go())


def test_many_pushes_share_one_connection_with_apples_headers(fake, settings):
    pushes = [Push(token(i), f"magic-{i}", ref=i) for i in range(300)]
    results = run(settings, pushes)
    assert [r.outcome for r in results] == [Outcome.SENT] * 300
    assert [r.push.ref for r in results] == list(range(300))  # input order kept
    assert all(r.apns_id for r in results)
    assert fake.connections == 1
    assert len(fake.pushes) == 300 and fake.rejected == []
    by_token = {p.token: p for p in fake.pushes}
    first = by_token[token(0).hex()]
    assert (first.topic, first.push_magic, first.priority) == (TOPIC, "magic-0", "10")
    assert first.headers["apns-push-type"] == "mdm"
    assert int(first.expiration) > 0


def test_send_is_a_blocking_wrapper(fake, settings):
    assert [r.outcome for r in apns.send(settings, [Push(token(1), "m")])] == [Outcome.SENT]
    assert apns.send(settings, []) == []


@pytest.mark.parametrize("answer", [410, (400, "BadDeviceToken"), (400, "DeviceTokenNotForTopic")])
def test_unregistered_and_bad_tokens_are_invalid(fake, settings, answer):
    fake.script(token(7).hex(), answer)
    (result,) = run(settings, [Push(token(7), "m")])
    assert result.outcome is Outcome.INVALID_TOKEN and result.attempts == 1
    assert fake.attempts[token(7).hex()] == 1  # never retried


def test_malformed_token_is_refused_by_apns_as_bad_device_token(fake, settings):
    (result,) = run(settings, [Push(b"\x01\x02", "m")])
    assert (result.outcome, result.status, result.reason) == (Outcome.INVALID_TOKEN, 400, "BadDeviceToken")


def test_429_and_5xx_are_retried_with_back_off(fake, settings):
    delays = []

    async def sleep(seconds):
        delays.append(seconds)

    fake.script(token(3).hex(), 429, 503, 500)
    (result,) = run(settings, [Push(token(3), "m")], sleep=sleep)
    assert result.outcome is Outcome.SENT and result.attempts == 4
    assert len(delays) == 3
    assert 0.005 <= delays[0] <= 0.01 and 0.01 <= delays[1] <= 0.02  # doubles, with jitter
    assert len(fake.pushes) == 1


def test_gives_up_after_max_attempts(fake, settings):
    fake.script(token(4).hex(), *[503] * 10)
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    (result,) = run(ApnsSettings(**{**settings.__dict__, "max_attempts": 3}), [Push(token(4), "m")], sleep=sleep)
    assert (result.outcome, result.status, result.attempts) == (Outcome.GAVE_UP, 503, 3)
    assert len(slept) == 2


def test_certificate_problem_stops_the_batch(fake, tls, settings):
    other = pki.push_identity(tls["ca"], "com.apple.mgmt.External.someone-else")
    wrong = ApnsSettings(**{**settings.__dict__, "cert_pem": other.cert_pem, "key_pem": other.key_pem,
                            "max_in_flight": 10})
    results = run(wrong, [Push(token(i), "m") for i in range(200)])
    assert {r.outcome for r in results} == {Outcome.FAILED}
    assert {r.reason for r in results} == {"TopicDisallowed"}
    assert len(fake.rejected) <= 20  # the rest were not even attempted once the batch was doomed
    assert fake.pushes == []


def test_client_certificate_from_another_ca_cannot_connect(fake, settings):
    stranger = pki.push_identity(pki.make_ca("Not Apple"), TOPIC)
    wrong = ApnsSettings(**{**settings.__dict__, "cert_pem": stranger.cert_pem, "key_pem": stranger.key_pem,
                            "max_attempts": 2})
    (result,) = run(wrong, [Push(token(1), "m")])
    assert result.outcome is Outcome.GAVE_UP and result.status is None
    assert fake.pushes == []


def test_server_not_trusted_is_not_pushed_to(fake, tls):
    untrusting = settings_for(fake, tls["push"], ca_file=None, max_attempts=1)  # system CAs: the fake is not Apple
    (result,) = run(untrusting, [Push(token(1), "m")])
    assert result.outcome is Outcome.GAVE_UP and fake.pushes == []


def test_backoff_delay_is_capped():
    for attempt in range(1, 20):
        delay = apns.backoff_delay(attempt, 0.5, 30)
        assert min(30, 0.5 * 2 ** (attempt - 1)) / 2 <= delay <= min(30, 0.5 * 2 ** (attempt - 1))


# --- the fake itself checks what Apple checks ------------------------------------------


@pytest.mark.parametrize(
    "path, headers, body, status, reason",
    [
        ("/3/device/" + "ab" * 32, {"apns-push-type": "alert"}, {"mdm": "m"}, 400, "InvalidPushType"),
        ("/3/device/" + "ab" * 32, {"apns-topic": None}, {"mdm": "m"}, 400, "MissingTopic"),
        ("/3/device/" + "ab" * 32, {"apns-topic": "com.other"}, {"mdm": "m"}, 400, "TopicDisallowed"),
        ("/3/device/" + "ab" * 32, {"apns-priority": "7"}, {"mdm": "m"}, 400, "BadPriority"),
        ("/3/device/" + "ab" * 32, {"apns-expiration": "soon"}, {"mdm": "m"}, 400, "BadExpirationDate"),
        ("/3/device/" + "ab" * 32, {}, {"aps": {"alert": "hi"}}, 400, "BadPayload"),
        ("/3/device/" + "ab" * 32, {}, {"mdm": "m", "extra": 1}, 400, "BadPayload"),
        ("/3/device/" + "ab" * 32, {}, None, 400, "PayloadEmpty"),
        ("/3/device/nothex", {}, {"mdm": "m"}, 400, "BadDeviceToken"),
        ("/2/device/" + "ab" * 32, {}, {"mdm": "m"}, 404, "BadPath"),
    ],
)
def test_fake_refuses_what_apple_refuses(fake, settings, path, headers, body, status, reason):
    base = {"apns-topic": TOPIC, "apns-push-type": "mdm", "apns-priority": "10", "apns-expiration": "0"}
    base.update(headers)
    sent_headers = [(k.encode(), v.encode()) for k, v in base.items() if v is not None]

    async def raw_request():
        conn = await _Connection.open(fake.url, apns.client_ssl_context(settings))
        try:
            return await conn.request(path, sent_headers, json.dumps(body).encode() if body else b"")
        finally:
            await conn.close()

    answer_status, _, answer = asyncio.run(raw_request())
    assert (answer_status, json.loads(answer)["reason"]) == (status, reason)
    assert fake.pushes == []
