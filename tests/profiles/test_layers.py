"""Changing layers: locks set centrally refuse school and group changes, naming layer and person."""

import pytest

from profiles.layers import Action, Change, Refused, apply_changes, diff
from profiles.model import REMOVED, WHOLE_PAYLOAD, Layer, LayerId, Level, SettingRef
from profiles.payloads import parse_ref

CENTRAL = "kari@kommune.no"


def baseline() -> Layer:
    return apply_changes(
        Layer.of("baseline"),
        [],
        [
            Change.set("restrictions", "allowCamera", False, lock=True),
            Change.set("restrictions", "allowAirDrop", False),
            Change.set("passcode", "minLength", 6),
            Change.set("webfilter", "AutoFilterEnabled", True),
            Change.lock_it("webfilter"),
            Change.set("wifi:eduroam", "SSID_STR", "eduroam", lock=True),
            Change.set("wifi:guest", "SSID_STR", "Kommune-Gjest"),
        ],
        actor=CENTRAL,
    )


def school(changes, *, above=None, scope="A", actor="ola@skole-a.no"):
    return apply_changes(Layer.of(f"school:{scope}"), above if above is not None else [baseline()], changes, actor=actor)


ALLOWED = [
    Change.set("passcode", "minLength", 8),
    Change.set("restrictions", "allowAirDrop", True),
    Change.set("restrictions", "allowSafari", False),
    Change.set("wifi:school-a", "SSID_STR", "Skole-A"),
    Change.remove("wifi:guest"),
    Change.remove("restrictions", "allowAirDrop"),
    Change.set("wifi:guest", "AutoJoin", False),
]


@pytest.mark.parametrize("change", ALLOWED, ids=lambda change: f"{change.action.value}-{change.ref}")
def test_school_may_change_defaults_and_add_its_own(change):
    layer = school([change])
    entry = layer.get(change.ref)
    assert entry is not None
    assert entry.set_by == "ola@skole-a.no"
    assert entry.value == (REMOVED if change.action is Action.REMOVE else change.value)


REFUSED = [
    # change, key named in the refusal, words of the reason
    (Change.set("restrictions", "allowCamera", True), "allowCamera", "is locked in baseline by kari@kommune.no"),
    (Change.remove("restrictions", "allowCamera"), "allowCamera", "is locked in baseline"),
    (Change.set("webfilter", "DenyListURLs", ["https://x.example"]), "DenyListURLs",
     "com.apple.webcontent-filter is locked as a whole in baseline"),
    (Change.set("webfilter", "AutoFilterEnabled", False), "AutoFilterEnabled", "locked as a whole"),
    (Change.remove("webfilter"), "com.apple.webcontent-filter", "locked as a whole in baseline"),
    (Change.remove("wifi:eduroam"), "com.apple.wifi.managed:eduroam", "its key SSID_STR is locked in baseline"),
    (Change.remove("restrictions"), "com.apple.applicationaccess", "its key allowCamera is locked"),
    (Change.set("wifi:eduroam", "SSID_STR", "annet"), "SSID_STR", "is locked in baseline"),
]


@pytest.mark.parametrize(("change", "key", "reason"), REFUSED, ids=lambda item: str(item) if isinstance(item, str) else None)
def test_school_is_refused_what_central_locked(change, key, reason):
    with pytest.raises(Refused) as caught:
        school([change])
    (refusal,) = caught.value.refusals
    assert refusal.key == key
    assert reason in refusal.reason
    assert refusal.locked_in == LayerId(Level.BASELINE)
    assert refusal.locked_by == CENTRAL


def test_a_school_lock_binds_its_groups_but_not_other_schools():
    base = baseline()
    school_a = school([Change.set("restrictions", "allowAirDrop", True, lock=True)], above=[base])
    with pytest.raises(Refused) as caught:
        apply_changes(Layer.of("group:A/5a"), [base, school_a], [Change.set("restrictions", "allowAirDrop", False)], actor="lærer")
    assert caught.value.refusals[0].locked_in == LayerId(Level.SCHOOL, "A")
    assert caught.value.refusals[0].locked_by == "ola@skole-a.no"
    school_b = school([Change.set("restrictions", "allowAirDrop", False)], above=[base], scope="B")
    assert school_b.get(SettingRef(parse_ref("restrictions"), "allowAirDrop")).value is False


def test_all_or_nothing_lists_every_refusal():
    base = baseline()
    original = Layer.of("school:B")
    with pytest.raises(Refused) as caught:
        apply_changes(
            original,
            [base],
            [
                Change.set("passcode", "minLength", 8),
                Change.set("restrictions", "allowCamera", True),
                Change.set("passcode", "minLength", 40),
                Change.set("passcode", "notAKey", 1),
            ],
            actor="x",
        )
    assert [refusal.key for refusal in caught.value.refusals] == ["allowCamera", "minLength", "notAKey"]
    assert original.entries == {}, "the layer given in is never modified"


def test_set_keeps_an_existing_lock_unless_told():
    base = baseline()
    camera = SettingRef(parse_ref("restrictions"), "allowCamera")
    changed = apply_changes(base, [], [Change.set("restrictions", "allowCamera", True)], actor="per@kommune.no")
    assert changed.get(camera).locked and changed.get(camera).locked_by == CENTRAL
    assert changed.get(camera).set_by == "per@kommune.no"
    unlocked = apply_changes(changed, [], [Change.unlock("restrictions", "allowCamera")], actor="per@kommune.no")
    assert not unlocked.get(camera).locked and unlocked.get(camera).locked_by is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (Change.lock_it("restrictions", "allowSafari"), "does not set allowSafari"),
        (Change.unlock("restrictions", "allowAirDrop"), "is not locked in baseline"),
        (Change.unset("passcode", "maxInactivity"), "sets nothing here"),
    ],
)
def test_lock_unlock_unset_need_something_to_act_on(change, reason):
    with pytest.raises(Refused, match=reason):
        apply_changes(baseline(), [], [change], actor=CENTRAL)


def test_unlock_of_whole_payload_lock_drops_the_marker():
    layer = apply_changes(baseline(), [], [Change.unlock("webfilter")], actor=CENTRAL)
    assert layer.get(SettingRef(parse_ref("webfilter"), WHOLE_PAYLOAD)) is None


def test_unset_returns_to_inheriting():
    layer = school([Change.set("passcode", "minLength", 8)])
    layer = apply_changes(layer, [baseline()], [Change.unset("passcode", "minLength")], actor="ola")
    assert layer.entries == {}


def test_layers_above_must_be_more_general():
    with pytest.raises(ValueError, match="more general"):
        apply_changes(Layer.of("school:A"), [Layer.of("group:A/1")], [], actor="x")


def test_diff_describes_additions_removals_and_changes():
    before = baseline()
    after = apply_changes(
        before,
        [],
        [
            Change.set("passcode", "minLength", 8),
            Change.unset("wifi:guest", "SSID_STR"),
            Change.set("restrictions", "allowSafari", False),
            Change.unlock("restrictions", "allowCamera"),
        ],
        actor=CENTRAL,
    )
    lines = [item.describe() for item in diff(before, after)]
    assert lines == [
        "~ com.apple.applicationaccess allowCamera: unlocked",
        "+ com.apple.applicationaccess allowSafari = false",
        "~ com.apple.mobiledevice.passwordpolicy minLength: 6 -> 8",
        "- com.apple.wifi.managed:guest SSID_STR (was Kommune-Gjest)",
    ]
    assert diff(before, before) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("baseline", LayerId(Level.BASELINE)),
        ("school:OSLO1", LayerId(Level.SCHOOL, "OSLO1")),
        ("group:12", LayerId(Level.GROUP, "12")),
        ("device:C02XYZ", LayerId(Level.DEVICE, "C02XYZ")),
    ],
)
def test_layer_ids_parse_and_print(text, expected):
    assert LayerId.parse(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize("text", ["school", "baseline:x", "district:1", ""])
def test_bad_layer_ids_are_refused(text):
    with pytest.raises(ValueError):
        LayerId.parse(text)


def test_diff_masks_secrets_but_still_shows_they_changed():
    from profiles.secrets import mask

    before = apply_changes(Layer.of("school:A"), [], [Change.set("wifi:a", "Password", "gammelt-passord")], actor="ola")
    after = apply_changes(before, [], [Change.set("wifi:a", "Password", "nytt-passord")], actor="ola")
    added = diff(None, before)[0].describe(mask)
    changed = diff(before, after)[0].describe(mask)
    assert added == "+ com.apple.wifi.managed:a Password = ********"
    assert changed == "~ com.apple.wifi.managed:a Password: secret changed"
    assert "passord" not in added + changed


def test_changes_to_rebuilds_an_old_version_through_the_checks():
    from profiles.layers import changes_to

    old = baseline()
    new = apply_changes(
        old,
        [],
        [
            Change.set("passcode", "minLength", 9),
            Change.unlock("restrictions", "allowCamera"),
            Change.unlock("webfilter"),
            Change.unset("wifi:guest", "SSID_STR"),
            Change.set("restrictions", "allowSafari", False),
        ],
        actor="per",
    )
    restored = apply_changes(new, [], changes_to(new, old), actor="kari")
    assert diff(old, restored) == []


def test_restoring_a_version_that_conflicts_with_a_newer_lock_is_refused():
    from profiles.layers import changes_to

    base = baseline()
    old_school = school([Change.set("restrictions", "allowAirDrop", True)], above=[base])
    locked = apply_changes(base, [], [Change.lock_it("restrictions", "allowAirDrop")], actor=CENTRAL)
    with pytest.raises(Refused, match="allowAirDrop: is locked in baseline"):
        apply_changes(Layer.of("school:A"), [locked], changes_to(Layer.of("school:A"), old_school), actor="ola")


def test_removing_a_whole_payload_drops_the_layers_own_keys_too():
    layer = school([Change.set("wifi:school-a", "SSID_STR", "Skole-A"), Change.set("wifi:school-a", "HIDDEN_NETWORK", True)])
    removed = apply_changes(layer, [baseline()], [Change.remove("wifi:school-a")], actor="ola")
    assert list(removed.entries) == [SettingRef(parse_ref("wifi:school-a"), WHOLE_PAYLOAD)]
    readded = apply_changes(removed, [baseline()], [Change.set("wifi:school-a", "SSID_STR", "Ny")], actor="ola")
    assert len(readded.entries) == 2, "set after remove replaces the inherited payload with this layer's keys"
