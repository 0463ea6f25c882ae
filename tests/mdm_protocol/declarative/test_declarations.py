"""Declarations, sets and their tokens: derived from content, checked against Apple's protocol schema."""

from __future__ import annotations

import datetime as dt

import pytest

from mdm_protocol import apple_schema
from mdm_protocol.declarative.declarations import (
    Declaration,
    DeclarationError,
    DeclarationSet,
    SyncTokens,
    check,
    kind_of,
)

PASSCODE = "com.apple.configuration.passcode.settings"


def passcode(length: int = 6, identifier: str = "no.bergvik.passcode") -> Declaration:
    return Declaration(PASSCODE, identifier, {"MinimumLength": length})


def activation(*identifiers: str) -> Declaration:
    return Declaration("com.apple.activation.simple", "no.bergvik.activation", {"StandardConfigurations": list(identifiers)})


def test_a_server_token_follows_the_content_and_nothing_else():
    assert passcode().server_token == passcode().server_token
    assert passcode(8).server_token != passcode().server_token
    assert passcode(identifier="no.bergvik.other").server_token != passcode().server_token
    assert len(passcode().server_token.encode()) <= 64


def test_a_sets_token_changes_exactly_when_a_declaration_is_added_removed_or_changed():
    base = DeclarationSet((passcode(), activation("no.bergvik.passcode")))
    same = DeclarationSet((activation("no.bergvik.passcode"), passcode()))  # order does not matter
    assert base.token == same.token
    assert DeclarationSet((passcode(8), activation("no.bergvik.passcode"))).token != base.token
    assert DeclarationSet((activation("no.bergvik.passcode"),)).token != base.token


def test_the_manifest_lists_each_kind_and_fits_apples_schema():
    found = DeclarationSet((passcode(), activation("no.bergvik.passcode"),
                            Declaration("com.apple.management.server-capabilities", "no.bergvik.caps",
                                        {"Version": "1.0.0", "SupportedFeatures": {}})))
    body = found.items_response()
    assert apple_schema.check(apple_schema.protocol_object("DeclarationItemsResponse").keys, body) == []
    assert body["Declarations"]["Configurations"] == [{"Identifier": "no.bergvik.passcode", "ServerToken": passcode().server_token}]
    assert [item["Identifier"] for item in body["Declarations"]["Activations"]] == ["no.bergvik.activation"]
    assert body["Declarations"]["Assets"] == [] and body["DeclarationsToken"] == found.token


def test_a_declaration_is_found_by_kind_and_identifier_only():
    found = DeclarationSet((passcode(),))
    assert found.find("configuration", "no.bergvik.passcode") == passcode()
    assert found.find("activation", "no.bergvik.passcode") is None  # right identifier, wrong kind
    assert found.find("configuration", "no.bergvik.other") is None


def test_tokens_response_fits_apples_schema():
    tokens = SyncTokens("abc", dt.datetime(2026, 10, 12, 8, 30, 15, 123456, tzinfo=dt.UTC))
    body = tokens.tokens_response()
    assert body == {"SyncTokens": {"DeclarationsToken": "abc", "Timestamp": "2026-10-12T08:30:15Z"}}
    assert apple_schema.check(apple_schema.protocol_object("TokensResponse").keys, body) == []


def test_a_declaration_is_checked_against_its_types_schema():
    assert check(passcode()) == []
    problems = check(Declaration(PASSCODE, "x", {"MinimumLength": 40, "Bogus": True}))
    assert {str(problem) for problem in problems} == {"Payload.MinimumLength: must be at most 16",
                                                       "Payload.Bogus: is not a key Apple's schema knows here"}
    assert check(Declaration("com.apple.configuration.softwareupdate.enforcement.specific", "x",
                             {"TargetOSVersion": "26.1"}))[0].reason == "is required"


@pytest.mark.parametrize("bad", ["com.apple.passcode", "org.example.configuration.x", "com.apple.asset"])
def test_types_that_are_not_declarations_are_refused(bad):
    with pytest.raises(DeclarationError):
        kind_of(bad)


def test_identifiers_are_unique_in_a_set_and_at_most_64_octets():
    with pytest.raises(DeclarationError):
        DeclarationSet((passcode(), passcode(8)))
    with pytest.raises(DeclarationError):
        passcode(identifier="x" * 65)
