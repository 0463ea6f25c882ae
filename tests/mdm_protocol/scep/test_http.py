"""SCEP over HTTP (RFC 8894 §4): operations, GET/POST, and every kind of bad input."""

from __future__ import annotations

import base64
import os

import pytest

from mdm_protocol.scep import http, messages
from mdm_protocol.scep.messages import FailInfo, PKIStatus

from .conftest import pkcs_req


def test_get_ca_caps(service):
    reply = http.handle(service, method="GET", operation="GetCACaps")
    assert (reply.status, reply.content_type) == (200, "text/plain; charset=utf-8")
    assert b"POSTPKIOperation" in reply.body.splitlines()
    assert reply.outcome is None and reply.error is None


def test_get_ca_cert(service, authority):
    reply = http.handle(service, method="GET", operation="GetCACert")
    assert (reply.status, reply.content_type, reply.body) == (200, "application/x-x509-ca-cert",
                                                             authority.certificate_der())


def test_post_pki_operation(service, verifiers, authority, requester):
    reply = http.handle(service, method="POST", operation="PKIOperation", body=pkcs_req(authority, requester))
    assert (reply.status, reply.content_type) == (200, "application/x-pki-message")
    assert reply.operation == "PKIOperation" and reply.outcome.status is PKIStatus.SUCCESS
    rep = messages.read_cert_rep(reply.body, certificate=requester[0], private_key=requester[1])
    assert rep.certificates == (verifiers.issued[0][0],)


@pytest.mark.parametrize(
    "encode",
    [
        lambda der: base64.b64encode(der).decode(),
        lambda der: base64.b64encode(der).decode().replace("+", " "),  # '+' decoded as a space
        lambda der: base64.encodebytes(der).decode(),  # with line breaks
        lambda der: base64.urlsafe_b64encode(der).decode().rstrip("="),
    ],
    ids=["standard", "plus-as-space", "line-breaks", "urlsafe-unpadded"],
)
def test_get_pki_operation_accepts_base64_as_it_arrives(service, authority, requester, encode):
    reply = http.handle(service, method="GET", operation="PKIOperation", message=encode(pkcs_req(authority, requester)))
    assert reply.status == 200 and reply.outcome.status is PKIStatus.SUCCESS


def test_wrong_challenge_is_a_200_cert_rep_failure(service, verifiers, authority, requester):
    reply = http.handle(
        service, method="POST", operation="PKIOperation", body=pkcs_req(authority, requester, challenge="nope")
    )
    assert reply.status == 200
    assert (reply.outcome.status, reply.outcome.fail_info) == (PKIStatus.FAILURE, FailInfo.BAD_REQUEST)
    assert verifiers.issued == []


def bad(reply, status: int, reason: str):
    assert reply.status == status, reply.body
    assert reply.content_type.startswith("text/plain")
    assert reason in reply.body.decode()
    assert reply.error and reason in reply.error
    assert reply.outcome is None


@pytest.mark.parametrize(
    "body, status, reason",
    [
        (b"", 400, "empty"),
        (os.urandom(2000), 400, "not a valid signed SCEP message"),
        (b"\x30\x82\x10\x00" + os.urandom(100), 400, "not a valid signed SCEP message"),
        (b"\x00" * (10 * 1024 * 1024), 413, "larger than"),
    ],
    ids=["empty", "random", "truncated-header", "10MB"],
)
def test_bad_post_bodies(service, verifiers, body, status, reason):
    bad(http.handle(service, method="POST", operation="PKIOperation", body=body), status, reason)
    assert verifiers.issued == []


def test_truncated_real_request(service, verifiers, authority, requester):
    der = pkcs_req(authority, requester)
    bad(http.handle(service, method="POST", operation="PKIOperation", body=der[:-7]), 400, "not a valid")
    assert verifiers.issued == []


def test_csr_without_challenge(service, verifiers, authority, requester):
    body = pkcs_req(authority, requester, challenge=None)
    bad(http.handle(service, method="POST", operation="PKIOperation", body=body), 400, "no challenge password")
    assert verifiers.issued == []


@pytest.mark.parametrize(
    "message, status, reason",
    [
        ("%%%not-base64%%%", 400, "not valid base64"),
        ("QUJD*REVG", 400, "not valid base64"),
        ("", 400, "missing"),
        ("A" * (10 * 1024 * 1024), 413, "larger than"),
        (base64.b64encode(os.urandom(500)).decode(), 400, "not a valid signed SCEP message"),
    ],
    ids=["percent-junk", "bad-char", "empty", "10MB", "random-bytes"],
)
def test_bad_get_messages(service, verifiers, message, status, reason):
    bad(http.handle(service, method="GET", operation="PKIOperation", message=message), status, reason)
    assert verifiers.issued == []


def test_get_without_message(service):
    bad(http.handle(service, method="GET", operation="PKIOperation"), 400, "missing")


def test_unknown_or_missing_operation(service):
    bad(http.handle(service, method="GET", operation="GetNextCACert"), 400, "unknown SCEP operation")
    bad(http.handle(service, method="GET", operation=None), 400, "operation parameter is missing")


def test_other_methods(service):
    bad(http.handle(service, method="PUT", operation="PKIOperation", body=b"x"), 405, "GET and POST")
