"""Chrome policy per organisational unit: locks at the parent unit, school values at the school's, drift."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from app.models.google import GoogleOrgUnit
from app.services import policy as policy_service
from app.services.access import Grant, Principal, Role
from app.services.google import policy
from profiles import Change

APP = "mkaakpdehdafacodkgkpghoibnmamcme"


def _change(db, principal, layer, *changes):
    with db.unit_of_work() as session:
        return policy_service.change(session, principal, layer, list(changes))


def _apply(db, principal, **options):
    with db.unit_of_work() as session:
        return policy.apply(session, principal, **options)


def _units(db) -> dict[str, GoogleOrgUnit]:
    with db.session() as session:
        from sqlalchemy import select

        return {row.ou_path: row for row in session.scalars(select(GoogleOrgUnit))}


def test_locks_at_the_parent_school_values_at_the_school(db, domain, principal):
    google = domain.google
    _change(db, principal, "baseline", Change.set("restrictions", "allowCamera", False, lock=True),
            Change.set("chromebook", "GuestMode", False), Change.set("passcode", "minLength", 6))
    _change(db, principal, "school:nordby", Change.set("webfilter", "DenyListURLs", ["https://spill.example", "*.tiktok.com"]))
    _change(db, principal, "school:sorby", Change.set(f"chromeapp:{APP}", "InstallType", "forced"))
    report = _apply(db, principal)
    assert not [plan.error for plan in report.units if plan.error]
    assert google.policy_at("/Skoler", "chrome.users.VideoInput") == {"videoCaptureAllowed": False}
    assert google.policy_at("/Skoler", "chrome.devices.GuestMode") == {"guestModeEnabled": False}
    for school in ("Nordby", "Sorby", "Vestby"):  # the lock is inherited, never copied
        assert google.policy_at(f"/Skoler/{school}", "chrome.users.VideoInput") is None
    assert google.policy_at("/Skoler/Nordby", "chrome.users.UrlBlocking") == {"urlBlocklist": ["https://spill.example", "*.tiktok.com"]}
    assert google.policy_at("/Skoler/Sorby", "chrome.users.UrlBlocking") is None
    assert google.policy_at("/Skoler/Sorby", "chrome.users.apps.InstallType", {"app_id": f"chrome:{APP}"}) == {"appInstallType": "FORCED"}
    modify = [call.body for call in google.calls(r"orgunits:batchModify$")]
    assert all(len({r["policyValue"]["policySchema"].rsplit(".", 1)[0] for r in body["requests"]}) == 1 for body in modify)
    units = _units(db)
    assert all(row.drift == [] for row in units.values()), {path: row.drift for path, row in units.items()}
    assert _apply(db, principal).changes == 0  # nothing new to send


def test_a_school_cannot_allow_what_central_it_locked(db, domain, principal):
    _change(db, principal, "baseline", Change.set("restrictions", "allowCamera", False, lock=True))
    ict = Principal("admin", 99, "admin:ikt@nordby", (Grant(Role.SCHOOL_ICT, domain.schools["nordby"].id),))
    with pytest.raises(InvalidInput) as refused:
        _change(db, ict, "school:nordby", Change.set("restrictions", "allowCamera", True))
    assert "allowCamera" in refused.value.details
    _apply(db, principal)
    assert domain.google.policy_at("/Skoler/Nordby", "chrome.users.VideoInput") is None


def test_falling_back_to_the_baseline_clears_the_schools_value(db, domain, principal):
    _change(db, principal, "baseline", Change.set("webfilter", "DenyListURLs", ["https://a.example"]))
    _change(db, principal, "school:nordby", Change.set("webfilter", "DenyListURLs", ["https://b.example"]))
    _apply(db, principal)
    assert domain.google.policy_at("/Skoler/Nordby", "chrome.users.UrlBlocking") == {"urlBlocklist": ["https://b.example"]}
    _change(db, principal, "school:nordby", Change.unset("webfilter", "DenyListURLs"))
    report = _apply(db, principal)
    nordby = next(plan for plan in report.units if plan.unit.ou_path == "/Skoler/Nordby")
    assert nordby.inherit and not nordby.modify
    assert domain.google.policy_at("/Skoler/Nordby", "chrome.users.UrlBlocking") is None
    assert any("batchInherit" in call.path for call in domain.google.requests)


def test_drift_in_googles_console_is_found_and_put_back(db, domain, principal):
    _change(db, principal, "baseline", Change.set("restrictions", "allowCamera", False, lock=True))
    _apply(db, principal)
    domain.google.set_policy_in_console("/Skoler/Nordby", "chrome.users.VideoInput", {"videoCaptureAllowed": True})
    _apply(db, principal)
    drift = _units(db)["/Skoler/Nordby"].drift
    assert drift == [{"identifier": "chrome.users.VideoInput", "kind": "changed", "expected": {"videoCaptureAllowed": False},
                      "actual": {"videoCaptureAllowed": True}, "set_at": "/Skoler/Nordby"}]
    _apply(db, principal, force=True)
    assert domain.google.policy_at("/Skoler/Nordby", "chrome.users.VideoInput") is None
    assert _units(db)["/Skoler/Nordby"].drift == []


def test_wifi_networks_are_defined_once_and_inherited(db, domain, principal):
    _change(db, principal, "baseline", Change.set("wifi:skole", "SSID_STR", "Bergvik-skole"),
            Change.set("wifi:skole", "EncryptionType", "WPA2"), Change.set("wifi:skole", "Password", "hemmelig-passord"))
    _apply(db, principal)
    networks = domain.google.networks
    assert len(networks) == 1 and next(iter(networks.values()))["ou"] == domain.google.org_units["/Skoler"]["orgUnitId"]
    assert _units(db)["/Skoler/Nordby"].drift == []
    _change(db, principal, "baseline", Change.set("wifi:skole", "SSID_STR", "Bergvik-elev"))
    _apply(db, principal)
    (network_id,) = networks
    assert domain.google.policy_at("/Skoler", "chrome.networks.wifi.Details", {"network_id": network_id})["details"]["ssid"] == "Bergvik-elev"
    _change(db, principal, "baseline", Change.remove("wifi:skole"))
    _apply(db, principal)
    assert networks == {}


def test_only_the_schools_own_units_for_a_school(db, domain, principal):
    _change(db, principal, "school:nordby", Change.set("chromebook", "IncognitoMode", "disabled"))
    report = _apply(db, principal, school="nordby", dry_run=True)
    assert [plan.unit.ou_path for plan in report.units] == ["/Skoler/Nordby"]
    assert [value.schema for value in report.units[0].modify] == ["chrome.users.IncognitoMode"]
    assert domain.google.policy_at("/Skoler/Nordby", "chrome.users.IncognitoMode") is None  # a dry run sends nothing
