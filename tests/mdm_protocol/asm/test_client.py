"""The device enrollment client against the fake service: session, paging, cursors, retries, Apple's errors."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from mdm_protocol.asm import client as dep


def test_the_session_is_signed_with_oauth_and_every_call_carries_it(fake_dep, make_client):
    client = make_client()
    account = client.account()
    assert (account.server_name, account.org_name, account.org_type) == ("Flokk Bergvik", "Bergvik kommune", "edu")
    assert account.limits["/profile/devices"] == 1000
    assert [(method, path) for method, path, _ in fake_dep.requests] == [("GET", "/session"), ("GET", "/account")]
    assert client.session_token in fake_dep.sessions


def test_a_wrong_secret_is_refused_by_the_service_and_reported_as_a_rejected_token(fake_dep, make_client):
    wrong = dataclasses.replace(fake_dep.credentials, access_secret="AS_not-the-one")
    with pytest.raises(dep.TokenRejected, match="renewed|revoked|expired"):
        make_client(wrong).account()
    assert fake_dep.requests == [("GET", "/session", 401)]


def test_fetch_pages_with_a_cursor_until_no_more_follow(fake_dep, make_client):
    serials = set(fake_dep.add_devices(2500))
    client = make_client()
    page = client.fetch_devices()
    seen = [device.serial_number for device in page.devices]
    while page.more_to_follow:
        page = client.fetch_devices(page.cursor)
        seen.extend(device.serial_number for device in page.devices)
    assert len(seen) == 2500 and set(seen) == serials
    assert client.calls["/server/devices"] == 3
    with pytest.raises(dep.CursorExhausted):
        client.fetch_devices(page.cursor)


def test_sync_returns_the_changes_after_the_cursor(fake_dep, make_client):
    first, second = fake_dep.add_devices(2)
    client = make_client()
    cursor = client.fetch_devices().cursor
    fake_dep.modify(first, color="SPACE GRAY")
    fake_dep.delete(second)
    added = fake_dep.add_devices(1, prefix="NEW")[0]
    page = client.sync_devices(cursor)
    assert [(d.serial_number, d.op_type) for d in page.devices] == [(first, "modified"), (second, "deleted"), (added, "added")]
    assert page.devices[0].color == "SPACE GRAY" and page.devices[0].op_date is not None
    assert client.sync_devices(page.cursor).devices == []


def test_cursor_errors_are_typed(fake_dep, make_client):
    fake_dep.add_devices(1)
    client = make_client()
    with pytest.raises(dep.CursorInvalid):
        client.sync_devices("DEADBEEF")
    cursor = client.fetch_devices().cursor
    fake_dep.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    fake_dep.session_lifetime = dt.timedelta(days=30)
    with pytest.raises(dep.CursorExpired):
        client.sync_devices(cursor)


def test_an_expired_session_is_renewed_once_and_the_call_repeated(fake_dep, make_client):
    client = make_client()
    client.account()
    fake_dep.expire_sessions()
    assert client.account().server_name == "Flokk Bergvik"
    assert [status for _, _, status in fake_dep.requests] == [200, 200, 401, 200, 200]


def test_429_and_5xx_are_retried_honouring_retry_after(fake_dep, make_client):
    client = make_client()
    client.account()
    fake_dep.trouble(429, 2, retry_after=7)
    fake_dep.trouble(503)
    assert client.account().org_name == "Bergvik kommune"
    assert client.sleeps[:2] == [7.0, 7.0] and len(client.sleeps) == 3


def test_a_service_that_keeps_failing_gives_up_clearly(fake_dep, make_client):
    client = make_client(max_attempts=3)
    client.account()
    fake_dep.trouble(503, 3)
    with pytest.raises(dep.Unavailable, match="503"):
        client.account()


def test_terms_not_signed_is_its_own_error(fake_dep, make_client):
    fake_dep.terms_signed = False
    with pytest.raises(dep.TermsNotSigned, match="accept them"):
        make_client().account()


def test_profiles_are_defined_and_assigned_with_an_outcome_per_serial(fake_dep, make_client):
    serial = fake_dep.add_devices(1)[0]
    client = make_client()
    defined = client.define_profile({"profile_name": "Nordby", "url": "https://flokk.test/asm/enroll",
                                     "is_supervised": True, "is_mdm_removable": False})
    result = client.assign_profile(defined.profile_uuid, [serial, "NOSUCHSERIAL"])
    assert result.devices == {serial: "SUCCESS", "NOSUCHSERIAL": "NOT_ACCESSIBLE"}
    assert fake_dep.assigned() == {serial: defined.profile_uuid}
    assert client.device_details([serial])[serial].profile_uuid == defined.profile_uuid
    assert client.remove_profile([serial]).devices == {serial: "SUCCESS"}
    assert fake_dep.assigned() == {}


def test_a_profile_apple_would_refuse_is_a_request_error(fake_dep, make_client):
    with pytest.raises(dep.DepRequestError) as refused:
        make_client().define_profile({"profile_name": "x", "url": "http://plain", "is_mdm_removable": False})
    assert refused.value.status == 400 and refused.value.code == "INVALID_PROFILE"


@pytest.mark.parametrize(("body", "code"), [(b"T_C_NOT_SIGNED", "T_C_NOT_SIGNED"), (b'"EXPIRED_CURSOR"', "EXPIRED_CURSOR"),
                                            (b'{"code": "ACCESS_DENIED"}', "ACCESS_DENIED"), (b"<html>", None)])
def test_apples_error_codes_are_read_from_text_quoted_or_json_bodies(body, code):
    assert dep._code(body) == code
