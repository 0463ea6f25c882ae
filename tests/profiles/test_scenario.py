"""The issue's scenario end to end, pure: a municipality, two schools, three classes.

Central IT locks the camera off and sets a default passcode length; school A
overrides the passcode default and adds its Wi-Fi; school B tries to allow the
camera and is refused. Each device's effective policy carries provenance; its
profiles validate against Apple's schema; a simulated iPad installs them and
reports them back in ProfileList, and the reconciler then queues nothing.
"""

import plistlib

import pytest

from profiles.compile import compiler_for
from profiles.compile.apple import validate_profile
from profiles.layers import Change, Refused, apply_changes
from profiles.model import DeviceFacts, Layer, LayerId, Level
from profiles.reconcile import Reported, reconcile
from profiles.resolve import resolve

CENTRAL, ICT_A, ICT_B = "kari@kommune.no", "ola@skole-a.no", "siri@skole-b.no"


class SimulatedIPad:
    """Installs profile bodies as a device would and answers ProfileList."""

    def __init__(self) -> None:
        self.installed: dict[str, dict] = {}

    def install(self, body: bytes) -> None:
        profile = plistlib.loads(body)
        self.installed[profile["PayloadIdentifier"]] = profile

    def remove(self, identifier: str) -> None:
        self.installed.pop(identifier)

    def profile_list(self) -> bytes:
        return plistlib.dumps({
            "Status": "Acknowledged",
            "ProfileList": [
                {
                    "PayloadIdentifier": profile["PayloadIdentifier"],
                    "PayloadUUID": profile["PayloadUUID"],
                    "PayloadDisplayName": profile["PayloadDisplayName"],
                    "PayloadRemovalDisallowed": profile["PayloadRemovalDisallowed"],
                    "IsManaged": True,
                    "PayloadContent": [
                        {key: item[key] for key in ("PayloadIdentifier", "PayloadType", "PayloadVersion")}
                        for item in profile["PayloadContent"]
                    ],
                }
                for profile in self.installed.values()
            ],
        })


@pytest.fixture(scope="module")
def municipality():
    baseline = apply_changes(
        Layer.of("baseline"),
        [],
        [Change.set("restrictions", "allowCamera", False, lock=True), Change.set("passcode", "minLength", 6)],
        actor=CENTRAL,
    )
    school_a = apply_changes(
        Layer.of("school:A"),
        [baseline],
        [
            Change.set("passcode", "minLength", 8),
            Change.set("wifi:skole-a", "SSID_STR", "Skole-A"),
            Change.set("wifi:skole-a", "EncryptionType", "WPA2"),
            Change.set("wifi:skole-a", "Password", "korrekt-hest-batteri"),
        ],
        actor=ICT_A,
    )
    school_b = Layer.of("school:B")
    classes = [Layer.of("group:A/5a"), Layer.of("group:A/6b"), Layer.of("group:B/7c")]
    return baseline, school_a, school_b, classes


def test_school_b_may_not_allow_the_camera(municipality):
    baseline, _, school_b, _ = municipality
    with pytest.raises(Refused) as caught:
        apply_changes(school_b, [baseline], [Change.set("restrictions", "allowCamera", True)], actor=ICT_B)
    (refusal,) = caught.value.refusals
    assert (refusal.key, refusal.locked_in, refusal.locked_by) == ("allowCamera", LayerId(Level.BASELINE), CENTRAL)
    assert str(refusal) == "allowCamera: is locked in baseline by kari@kommune.no"


@pytest.mark.parametrize(
    ("school", "group", "passcode", "passcode_from", "wifi"),
    [("A", "A/5a", 8, "school:A", True), ("A", "A/6b", 8, "school:A", True), ("B", "B/7c", 6, "baseline", False)],
)
def test_effective_policies_are_what_a_person_expects(municipality, school, group, passcode, passcode_from, wifi):
    baseline, school_a, school_b, classes = municipality
    policy = resolve([baseline, school_a, school_b, *classes], DeviceFacts("ipados", supervised=True, school=school, group=group))
    camera = policy.value("restrictions", "allowCamera")
    assert camera.value is False
    assert (str(camera.provenance.layer), camera.provenance.locked, camera.provenance.locked_by) == ("baseline", True, CENTRAL)
    length = policy.value("passcode", "minLength")
    assert (length.value, str(length.provenance.layer), length.provenance.locked) == (passcode, passcode_from, False)
    assert (policy.payload("wifi:skole-a") is not None) is wifi
    assert policy.left_out == ()


@pytest.mark.parametrize(("school", "group"), [("A", "A/5a"), ("A", "A/6b"), ("B", "B/7c")])
def test_a_device_converges_and_then_nothing_more_is_queued(municipality, options, school, group):
    baseline, school_a, school_b, classes = municipality
    facts = DeviceFacts("ipados", supervised=True, school=school, group=group)
    compiled = compiler_for("ipados", options).compile(resolve([baseline, school_a, school_b, *classes], facts))
    for profile in compiled.artifacts:
        assert validate_profile(profile.as_dict(), "ipados") == []
    desired = [profile for profile in compiled.artifacts]
    ipad = SimulatedIPad()

    first = reconcile(desired, [], namespace=options.namespace)
    assert len(first.install) == len(desired) == (3 if school == "A" else 2)
    bodies = compiled.by_identifier()
    for item in first.install:
        ipad.install(bodies[item.identifier].body)

    report = plistlib.loads(ipad.profile_list())["ProfileList"]
    reported = [Reported(item["PayloadIdentifier"], item["PayloadUUID"], item["IsManaged"]) for item in report]
    again = reconcile(desired, reported, namespace=options.namespace)
    assert again.changes_nothing and again.unmanaged == () and again.blocked == ()
    restrictions = next(item for item in report if item["PayloadIdentifier"].endswith(".restrictions"))
    assert restrictions["PayloadRemovalDisallowed"] is True


def test_a_baseline_default_change_reinstalls_only_where_it_shows(municipality, options):
    baseline, school_a, school_b, classes = municipality
    layers = [baseline, school_a, school_b, *classes]
    changed = apply_changes(baseline, [], [Change.set("passcode", "minLength", 7)], actor=CENTRAL)
    compiler = compiler_for("ipados", options)
    for school, group, expect_reinstall in (("A", "A/5a", False), ("B", "B/7c", True)):
        facts = DeviceFacts("ipados", supervised=True, school=school, group=group)
        before = compiler.compile(resolve(layers, facts)).artifacts
        after = compiler.compile(resolve([changed, *layers[1:]], facts)).artifacts
        reported = [Reported(item.identifier, item.version) for item in before]
        plan = reconcile(after, reported, namespace=options.namespace)
        assert [item.identifier for item in plan.install] == (
            [options.namespace + "passcode"] if expect_reinstall else []
        ), "school A overrides the passcode, so a baseline default change does not reach its devices"
        assert plan.remove == ()
