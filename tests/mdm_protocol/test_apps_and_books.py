"""The Apps and Books client against the fake (written from Apple's documents): token files, paging,
eventId status, typed errors by Apple's numbers, back-off honouring Retry-After, mdmInfo on every answer,
the metadata lookup, and notifications."""

from __future__ import annotations

import base64
import datetime as dt
import json
import ssl
import time

import pytest

from mdm_protocol.apps_and_books import (
    AppsAndBooksClient,
    InvalidToken,
    MdmInfo,
    MetadataLookup,
    NotEnoughLicences,
    RequestRefused,
    ServiceUnavailable,
    TokenExpired,
    TokenFileError,
    TokenRevoked,
    parse_token,
)
from mdm_protocol.apps_and_books import notifications
from mdm_protocol.apps_and_books.token import parse_date
from mdm_protocol.apps_and_books.transport import UrllibTransport
from tests.fakes import pki
from tests.fakes.apps_and_books import FakeAppsAndBooks, FakeAsset, make_token


@pytest.fixture(scope="module")
def server():
    ca = pki.make_ca("Client test CA")
    identity = pki.issue(ca, "localhost", server_names=("127.0.0.1",))
    with FakeAppsAndBooks(server_cert_pem=identity.cert_pem, server_key_pem=identity.key_pem, page_size=10,
                          assignments_page_size=4) as fake:
        fake.trust = ssl.create_default_context(cadata=ca.cert_pem.decode())
        yield fake


@pytest.fixture
def fake(server):
    server.reset()
    server.polls_until_done = 1
    return server


@pytest.fixture
def location(fake):
    token = make_token()
    place = fake.add_location(token)
    for number in range(25):
        fake.add_asset(place, FakeAsset(str(100 + number), f"App {number}", f"no.app{number}", total=3))
    return place, token


def client_for(fake, token: bytes, sleeps: list | None = None) -> AppsAndBooksClient:
    return AppsAndBooksClient(parse_token(token).stoken, base_url=fake.api_url, transport=UrllibTransport(fake.trust),
                              sleep=(sleeps.append if sleeps is not None else lambda seconds: None),
                              max_requests_per_second=0)


def test_a_token_file_is_base64_json_with_token_expiry_and_organisation():
    parsed = parse_token(make_token(org="Bergvik kommune", expires=dt.datetime(2030, 11, 8, 22, 33, 22, tzinfo=dt.UTC)))
    assert parsed.organisation == "Bergvik kommune"
    assert parsed.expires_at == dt.datetime(2030, 11, 8, 22, 33, 22, tzinfo=dt.UTC)
    assert "stoken" not in repr(parsed)
    assert parse_date("2030-11-08T22:33:22Z") == parse_date("2030-11-08T22:33:22+0000")
    for bad, reason in ((b"x" * 20000, "a few hundred"), (b"\xff\xfe", "not base64"), (b"%%%", "not a content token"),
                        (base64.b64encode(b"[1]"), "JSON object"), (base64.b64encode(b'{"token": "t"}'), "expiry"),
                        (base64.b64encode(b'{"token": "t", "expDate": "tomorrow"}'), "not a date")):
        with pytest.raises(TokenFileError, match=reason):
            parse_token(bad)


def test_assets_and_assignments_are_read_page_by_page(fake, location):
    place, token = location
    client = client_for(fake, token)
    assert len(list(client.assets())) == 25
    assert fake.requests_to("assets") == [{}, {"pageIndex": "1"}, {"pageIndex": "2"}]
    first = client.assets_page()
    assert (first.current_page_index, first.next_page_index, first.total_pages) == (0, 1, 3)
    assert client.assets_page(2).next_page_index is None
    with pytest.raises(RequestRefused) as refused:
        client.assets_page(7)
    assert refused.value.number == 9650
    place.assignments.update({("100", "STDQ", f"S{n}") for n in range(9)})
    assert len(list(client.assignments(adam_id="100"))) == 9  # three pages of four
    assert [item.serial_number for item in client.assignments(serial_number="S3")] == ["S3"]


def test_associations_are_asynchronous_events_and_a_lack_of_licences_is_its_own_error(fake, location):
    place, token = location
    client = client_for(fake, token)
    event = client.associate([("100", "STDQ")], ["A", "B"])
    status = client.event_status(event.event_id)
    assert (status.status, status.event_type, status.num_completed) == ("COMPLETE", "ASSOCIATE", 2)
    short = client.event_status(client.associate([("100", "STDQ")], ["C", "D"]).event_id)
    assert short.status == "FAILED"
    (failure,) = short.failures
    assert failure.number == 9709 and failure.serial_numbers == ("C", "D")
    released = client.event_status(client.disassociate([("100", "STDQ")], ["A"]).event_id)
    assert released.status == "COMPLETE" and ("100", "STDQ", "A") not in place.assignments
    with pytest.raises(RequestRefused) as unknown:
        client.event_status("no-such-event")
    assert unknown.value.number == 9708
    for assets, serials, number in (([("100", "STDQ")], ["A", "A"], 9705), ([], ["A"], 9718),
                                    ([("100", "STDQ")], [], 9719), ([("100", "STDQ")], [f"S{n}" for n in range(1001)], 9702)):
        with pytest.raises(RequestRefused) as refused:
            client.associate(assets, serials)
        assert refused.value.number == number
    assert isinstance(NotEnoughLicences("x", number=9709), Exception)


def test_apples_errors_become_typed_errors(fake, location):
    place, token = location
    client = client_for(fake, token)
    place.expired = True
    with pytest.raises(TokenExpired):
        client.client_config()
    place.expired, place.revoked = False, True
    with pytest.raises(TokenRevoked):
        client.client_config()
    with pytest.raises(InvalidToken) as unknown:
        client_for(fake, make_token()).client_config()
    assert unknown.value.number == 9601 and unknown.value.status == 401


def test_429_and_5xx_are_retried_honouring_retry_after_then_given_up(fake, location):
    _, token = location
    sleeps: list[float] = []
    client = client_for(fake, token, sleeps)
    fake.script("client/config", (503, None, 7), (429, 9646, 2), (500, 9603, None))
    assert client.client_config().location_name == "Bergvik skoler"
    assert sleeps[:2] == [7.0, 2.0] and 0.5 <= sleeps[2] <= 4.0
    fake.script("client/config", *[(503, None, 0)] * 10)
    with pytest.raises(ServiceUnavailable, match="kept refusing"):
        client.client_config()
    fake.script("client/config", (400, 9602, None))
    with pytest.raises(RequestRefused):
        client.client_config()


def test_requests_beyond_the_rate_limit_get_429_and_wait_as_apple_says(fake, location):
    _, token = location
    fake.max_requests_per_second = 3
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        time.sleep(seconds)

    client = AppsAndBooksClient(parse_token(token).stoken, base_url=fake.api_url, transport=UrllibTransport(fake.trust),
                                sleep=sleep, max_requests_per_second=0)
    for _ in range(4):
        assert client.client_config().uid
    assert waited and set(waited) == {1.0}  # the fake's Retry-After
    assert client.requests == 4 + len(waited)
    fake.max_requests_per_second = None


def test_the_client_paces_itself_to_apples_requests_per_second(fake, location):
    _, token = location
    waited: list[float] = []
    client = AppsAndBooksClient(parse_token(token).stoken, base_url=fake.api_url, transport=UrllibTransport(fake.trust),
                                sleep=waited.append, clock=lambda: 100.0)
    client.service_config()  # says 15 a second, as Apple documents
    client.client_config()
    client.client_config()
    assert waited == [pytest.approx(1 / 15)] * 2


def test_the_mdm_info_of_every_answer_is_noticed(fake, location):
    place, token = location
    client = client_for(fake, token)
    ours = MdmInfo("flokk-1", "Flokk", "mdm.bergvik.no")
    claimed = client.set_client_config(ours)
    assert claimed.mdm_info == ours and place.mdm_info == ours.as_json()
    place.mdm_info = {"id": "other", "name": "Other MDM", "metadata": "x"}
    list(client.assets())
    assert client.seen_mdm_info == MdmInfo("other", "Other MDM", "x")
    with pytest.raises(RequestRefused) as refused:
        client.set_client_config(MdmInfo("flokk-1", "", ""))
    assert refused.value.number == 9723


def test_the_notification_url_must_answer_apples_test_notification(fake, location):
    place, token = location
    client = client_for(fake, token)
    received = []
    fake.deliver = lambda url, headers, body: received.append((url, headers, json.loads(body))) or 200
    client.set_client_config(MdmInfo("f", "Flokk", "m"), notification_url="https://flokk.example/apps/notifications/n",
                             notification_auth_token="s3cret")
    (url, headers, body) = received[0]
    assert headers["Authorization"] == "Bearer s3cret" and body["notificationType"] == "TEST_NOTIFICATION"
    fake.deliver = lambda url, headers, body: 500
    with pytest.raises(RequestRefused) as refused:
        client.set_client_config(MdmInfo("f", "Flokk", "m"), notification_url="https://flokk.example/x",
                                 notification_auth_token="s3cret")
    assert refused.value.number == 9728
    with pytest.raises(RequestRefused) as insecure:
        client.set_client_config(MdmInfo("f", "Flokk", "m"), notification_url="http://flokk.example/x",
                                 notification_auth_token="s3cret")
    assert insecure.value.number == 9712


def test_the_metadata_lookup_gives_name_bundle_id_and_icon(fake, location):
    lookup = MetadataLookup(base_url=fake.lookup_url, transport=UrllibTransport(fake.trust), country="NO")
    found = lookup.lookup("100", stoken="secret")
    assert (found.name, found.bundle_id, found.version) == ("App 0", "no.app0", "1.0")
    assert found.icon_url.endswith("/128x128bb.png")
    assert lookup.lookup("999") is None
    (query,) = [body for method, path, body in fake.log if path == "lookup" and body["id"] == "100"]
    assert (query["p"], query["caller"], query["version"], query["cc"]) == ("mdm-lockup", "MDM", "2", "no")


def test_notifications_are_parsed_tolerantly_with_required_keys_checked():
    body = {"notification": {"assignments": [{"adamId": "1", "pricingParam": "STDQ", "serialNumber": "S"}, "junk"],
                             "eventId": "e", "result": "FAILURE", "type": "ASSOCIATE",
                             "error": {"errorNumber": 9709, "errorMessage": "not enough"}},
            "notificationId": "n", "notificationType": "ASSET_MANAGEMENT", "uId": 2049025000431439, "extra": True}
    parsed = notifications.parse(json.dumps(body).encode())
    assert parsed.uid == "2049025000431439"
    change = notifications.asset_management(parsed)
    assert (change.result, change.error_number, len(change.assignments)) == ("FAILURE", 9709, 1)
    for broken in (b"[]", b"{", json.dumps({**body, "notificationId": ""}).encode(),
                   json.dumps({**body, "notification": []}).encode()):
        with pytest.raises(notifications.NotificationError):
            notifications.parse(broken)
    with pytest.raises(notifications.NotificationError):
        notifications.asset_management(notifications.parse(json.dumps({**body, "notification": {"type": "ASSOCIATE"}}).encode()))
    count = notifications.parse(json.dumps({**body, "notificationType": "ASSET_COUNT",
                                            "notification": {"adamId": 5, "pricingParam": "STDQ", "countDelta": -2}}).encode())
    assert notifications.asset_count(count).count_delta == -2
