"""Reconciliation: only the difference is queued; twice queues nothing; strangers are reported."""

import plistlib
from pathlib import Path

import pytest

from profiles.reconcile import Desired, Pending, PendingAction, Reported, reconcile

NS = "no.kommune.skole.policy."
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mdm-fixtures"


def d(name, version="v1"):
    return Desired(NS + name, version)


def r(name, version="v1", managed=True, own=True):
    return Reported((NS + name) if own else name, version, managed)


def install(name, version="v1", command="c1", cancellable=True):
    return Pending(PendingAction.INSTALL, NS + name, version, command, cancellable)


def remove(name, command="c2", cancellable=True):
    return Pending(PendingAction.REMOVE, NS + name, None, command, cancellable)


CASES = [
    # (case, desired, reported, pending, install, remove, cancel)
    ("new device gets everything", [d("passcode"), d("wifi.a")], [], [], ["passcode", "wifi.a"], [], []),
    ("up to date: nothing", [d("passcode")], [r("passcode")], [], [], [], []),
    ("content change reinstalls same identifier", [d("passcode", "v2")], [r("passcode", "v1")], [], ["passcode"], [], []),
    ("left the policy: removed", [d("passcode")], [r("passcode"), r("wifi.guest")], [], [], ["wifi.guest"], []),
    ("queued install counts as done", [d("passcode")], [], [install("passcode")], [], [], []),
    ("queued remove counts as done", [], [r("wifi.guest")], [remove("wifi.guest")], [], [], []),
    ("stale queued install is cancelled and replaced", [d("passcode", "v2")], [], [install("passcode", "v1")], ["passcode"], [], ["c1"]),
    ("sent stale install is followed by the new one", [d("passcode", "v2")], [],
     [install("passcode", "v1", cancellable=False)], ["passcode"], [], []),
    ("queued install no longer wanted is cancelled", [], [], [install("wifi.a")], [], [], ["c1"]),
    ("sent install no longer wanted is removed after", [], [], [install("wifi.a", cancellable=False)], [], ["wifi.a"], []),
    ("queued remove of a wanted profile is cancelled", [d("wifi.a")], [r("wifi.a")], [remove("wifi.a")], [], [], ["c2"]),
    ("sent remove of a wanted profile: reinstall", [d("wifi.a")], [r("wifi.a")], [remove("wifi.a", cancellable=False)],
     ["wifi.a"], [], []),
    ("moved school: new values, old school's Wi-Fi out", [d("passcode", "b"), d("wifi.b")],
     [r("passcode", "a"), r("wifi.a")], [], ["passcode", "wifi.b"], ["wifi.a"], []),
]


@pytest.mark.parametrize(("case", "desired", "reported", "pending", "installs", "removes", "cancels"), CASES,
                         ids=[row[0] for row in CASES])
def test_plan(case, desired, reported, pending, installs, removes, cancels):
    plan = reconcile(desired, reported, pending, namespace=NS)
    assert [item.identifier for item in plan.install] == [NS + name for name in installs]
    assert list(plan.remove) == [NS + name for name in removes]
    assert list(plan.cancel) == cancels


@pytest.mark.parametrize(("case", "desired", "reported", "pending", "installs", "removes", "cancels"), CASES,
                         ids=[row[0] for row in CASES])
def test_running_the_plan_then_reconciling_again_queues_nothing(case, desired, reported, pending, installs, removes, cancels):
    plan = reconcile(desired, reported, pending, namespace=NS)
    still = [item for item in pending if item.command_id not in plan.cancel]
    still += [Pending(PendingAction.INSTALL, item.identifier, item.version, f"new-{item.identifier}") for item in plan.install]
    still += [Pending(PendingAction.REMOVE, identifier, None, f"new-rm-{identifier}") for identifier in plan.remove]
    again = reconcile(desired, reported, still, namespace=NS)
    assert again.changes_nothing


def test_profiles_outside_the_policy_are_reported_never_removed():
    reported = [
        r("com.example.vpn", own=False),
        r("com.kommune.enroll", own=False),
        r("passcode"),
        r("wifi.by-hand", managed=False),
    ]
    plan = reconcile([d("passcode")], reported, namespace=NS, known_elsewhere=frozenset({"com.kommune.enroll"}))
    assert plan.changes_nothing
    assert [item.identifier for item in plan.unmanaged] == ["com.example.vpn", NS + "wifi.by-hand"]


def test_identifier_held_by_a_hand_installed_profile_is_blocked_not_queued():
    plan = reconcile([d("wifi.a", "v2")], [r("wifi.a", "v1", managed=False)], namespace=NS)
    assert plan.install == ()
    (blocked,) = plan.blocked
    assert blocked.desired == d("wifi.a", "v2")
    assert "by hand" in blocked.reason


def test_desired_profiles_must_be_in_the_namespace():
    with pytest.raises(ValueError, match="outside the policy namespace"):
        reconcile([Desired("com.example.other", "v")], [], namespace=NS)


def test_a_real_profile_list_is_reported_as_unmanaged():
    """The captured iOS ProfileList holds only an enrolment profile installed by another MDM."""
    report = plistlib.loads((FIXTURES / "cmdmnt+commandment/testdata/ProfileList/iOS-11.3.1.xml").read_bytes())
    reported = [
        Reported(item["PayloadIdentifier"], item["PayloadUUID"], item.get("IsManaged", True))
        for item in report["ProfileList"]
    ]
    plan = reconcile([d("passcode")], reported, namespace=NS)
    assert [item.identifier for item in plan.install] == [NS + "passcode"]
    assert plan.remove == ()
    assert [item.identifier for item in plan.unmanaged] == ["dev.commandment.enroll"]


def test_a_version_the_device_refused_is_blocked_until_it_changes():
    failed = frozenset({(NS + "wifi.a", "v2")})
    plan = reconcile([d("wifi.a", "v2")], [], namespace=NS, failed=failed)
    assert plan.install == () and plan.blocked[0].reason.startswith("the device refused")
    retry = reconcile([d("wifi.a", "v3")], [], namespace=NS, failed=failed)
    assert [item.version for item in retry.install] == ["v3"]
