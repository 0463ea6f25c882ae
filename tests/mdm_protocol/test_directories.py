"""Feide's Groups API and Microsoft Graph clients: the documented shapes read, every failure a typed error."""

from __future__ import annotations

import json

import pytest

from mdm_protocol import feide, msgraph
from mdm_protocol.jsonhttp import HttpAnswer


def transport(*answers: tuple[int, object]):
    """Answers in order; records the URLs asked for."""
    queue = list(answers)
    asked: list[tuple[str, dict]] = []

    def send(url, headers, timeout):
        asked.append((url, dict(headers)))
        status, body = queue.pop(0)
        if isinstance(body, Exception):
            raise body
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return HttpAnswer(status, raw, {})

    send.asked = asked  # type: ignore[attr-defined]
    return send


TEACHING = {
    "id": "fc:gogroup:eksempel.kommune.no:u:NO987654321:3a-matte:2000-07-01:2100-06-30",
    "type": "fc:gogroup",
    "displayName": "Matte 3A",
    "membership": {"basic": "member", "displayName": "Elev", "affiliation": "student"},
    "notBefore": "2000-06-30T22:00:00Z",
    "notAfter": "2100-06-30T22:00:00Z",
    "go_type": "u",
    "parent": "fc:org:eksempel.kommune.no:unit:NO987654321",
    "go_type_displayName": "undervisningsgruppe",
    "grep": {"displayName": "Matematikk 3. årstrinn", "code": "MAT0003"},
}
OWNER = {"id": "fc:org:eksempel.kommune.no", "type": "fc:org", "displayName": {"nb": "Eksempel kommune", "en": "Example"},
         "membership": {"basic": "admin", "affiliation": ["member", "employee", "faculty"], "primaryAffiliation": "employee"}}


def test_my_groups_reads_the_documented_group_and_membership_shapes():
    send = transport((200, [TEACHING, OWNER, {"displayName": "no id"}, "junk"]))
    groups = feide.GroupsClient("https://groups.test/groups", transport=send).my_groups("token-1")
    assert send.asked == [("https://groups.test/groups/me/groups", {"Authorization": "Bearer token-1", "Accept": "application/json"})]
    teaching, owner = groups  # items without an id and type are skipped
    assert (teaching.kind, teaching.is_teaching_group, teaching.membership.all_affiliations) == ("fc:gogroup:u", True, {"student"})
    assert (owner.display_name, owner.is_school_owner, owner.membership.all_affiliations) == (
        "Eksempel kommune", True, {"member", "employee", "faculty"})
    assert feide.belongs_to_school(teaching, "fc:org:eksempel.kommune.no:unit:NO987654321")
    assert not feide.belongs_to_school(teaching, "fc:org:eksempel.kommune.no:unit:NO000000000")


def test_a_group_registered_by_the_school_owner_is_matched_by_its_id():
    group = feide.parse_group({**TEACHING, "parent": "fc:org:eksempel.kommune.no"})
    assert feide.belongs_to_school(group, "fc:org:eksempel.kommune.no:unit:NO987654321")


def test_members_quote_the_group_id_and_read_feide_ids():
    send = transport((200, [{"name": "Ola", "userid_sec": ["nin:123", "feide:ola@ex.no"], "membership": {"affiliation": "student"}},
                            {"name": {"nb": "Kari"}, "membership": {"basic": "admin", "affiliation": "faculty"}}]))
    ola, kari = feide.GroupsClient("https://groups.test/groups", transport=send).members("t", "fc:gogroup:x:u:NO1:a%2Fb c:1:2")
    assert send.asked[0][0] == "https://groups.test/groups/groups/fc:gogroup:x:u:NO1:a%252Fb%20c:1:2/members"
    assert (ola.feide_id, ola.name, kari.feide_id, kari.name) == ("ola@ex.no", "Ola", None, "Kari")


@pytest.mark.parametrize(("answer", "error"), [
    ((401, {"message": "Unauthorized"}), feide.NotAuthorized),
    ((403, {"message": "This resource requires a personal token"}), feide.Refused),
    ((404, {}), feide.GroupNotFound),
    ((429, {}), feide.Unavailable),
    ((503, b"<html>down</html>"), feide.Unavailable),
    ((200, b"not json"), feide.BadAnswer),
    ((200, {"not": "a list"}), feide.BadAnswer),
    ((302, b""), feide.BadAnswer),
    ((0, TimeoutError("timed out")), feide.Unavailable),
])
def test_groups_api_failures_are_typed(answer, error):
    with pytest.raises(error):
        feide.GroupsClient("https://g.test/groups", transport=transport(answer)).my_groups("t")


def test_graph_member_of_follows_pages_and_keeps_groups_only():
    send = transport(
        (200, {"value": [{"@odata.type": "#microsoft.graph.directoryRole", "id": "r1"}, {"@odata.type": "#microsoft.graph.group", "id": "g1"}],
               "@odata.nextLink": "https://graph.test/v1.0/me/memberOf?$skiptoken=2"}),
        (200, {"value": [{"@odata.type": "#microsoft.graph.group", "id": "g2"}]}),
    )
    assert msgraph.GraphClient("https://graph.test", transport=send).member_of_groups("t") == ["g1", "g2"]
    assert [url for url, _ in send.asked] == ["https://graph.test/v1.0/me/memberOf?$select=id",
                                              "https://graph.test/v1.0/me/memberOf?$skiptoken=2"]


def test_graph_does_not_send_the_token_to_another_host():
    send = transport((200, {"value": [], "@odata.nextLink": "https://evil.test/steal"}))
    with pytest.raises(msgraph.BadAnswer):
        msgraph.GraphClient("https://graph.test", transport=send).member_of_groups("t")
    assert len(send.asked) == 1


@pytest.mark.parametrize(("answer", "error", "code"), [
    ((401, {"error": {"code": "InvalidAuthenticationToken", "message": "x"}}), msgraph.NotAuthorized, "InvalidAuthenticationToken"),
    ((403, {"error": {"code": "Authorization_RequestDenied", "message": "x"}}), msgraph.Refused, "Authorization_RequestDenied"),
    ((429, {"error": {"code": "TooManyRequests"}}), msgraph.Unavailable, "TooManyRequests"),
    ((503, b""), msgraph.Unavailable, None),
    ((200, {"value": "x"}), msgraph.BadAnswer, None),
])
def test_graph_failures_are_typed(answer, error, code):
    with pytest.raises(error) as raised:
        msgraph.GraphClient("https://graph.test", transport=transport(answer)).member_of_groups("t")
    assert raised.value.code == code


def test_the_overage_claim_is_recognised():
    assert msgraph.has_groups_overage({"_claim_names": {"groups": "src1"}, "_claim_sources": {"src1": {"endpoint": "x"}}})
    assert msgraph.has_groups_overage({"hasgroups": True})
    assert not msgraph.has_groups_overage({"groups": ["a"]})
