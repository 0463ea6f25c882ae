"""One place decides how a device gets each setting: declarations for a device managed declaratively, profiles otherwise.

Table-driven over device descriptions; every declaration compiled is
checked against Apple's schema for its type.
"""

from __future__ import annotations

import pytest

from mdm_protocol.declarative.declarations import check
from profiles import DeviceFacts, Layer, resolve
from profiles.compile import CompileOptions, compile_policy
from profiles.compile.declarations import LEGACY, DeclarativeCompiler
from profiles.layers import Change, Refused, apply_changes
from profiles.payloads.passcode import as_declaration

OPTIONS = CompileOptions("no.bergvik.mdm.flokk", "Bergvik kommune")
PASSCODE = "com.apple.configuration.passcode.settings"
OSUPDATE = "com.apple.configuration.softwareupdate.enforcement.specific"
UPDATE_SETTINGS = "com.apple.configuration.softwareupdate.settings"


def baseline(*extra: Change) -> Layer:
    return apply_changes(Layer.of("baseline"), [], [
        Change.set("passcode", "minLength", 6),
        Change.set("passcode", "allowSimple", False),
        Change.set("restrictions", "allowCamera", False, lock=True),
        Change.set("osupdate", "TargetOSVersion", "26.1"),
        Change.set("osupdate", "TargetBuildVersion", "23B85"),
        Change.set("osupdate", "TargetLocalDateTime", "2026-10-16 16:00"),
        Change.set("updatesettings", "Notifications", False),
        Change.set("updatesettings", "Deferrals", {"CombinedPeriodInDays": 7}),
        *extra,
    ], actor="admin:it@bergvik.no")


def compiled(facts: DeviceFacts, layer: Layer | None = None):
    effective = resolve([layer or baseline()], facts)
    return effective, compile_policy(effective, OPTIONS)


def types_of(result) -> dict[str, str]:
    found = result.declarative.declaration_set(lambda profile: f"https://mdm.bergvik.no/p/{profile.identifier}")
    return {item.identifier.removeprefix("no.bergvik.mdm.flokk."): item.type for item in found.declarations}


@pytest.mark.parametrize(
    "facts, profiles, declarations, left_out",
    [
        # Not managed declaratively: profiles by command; the declaration-only payloads are left out, saying why.
        (DeviceFacts("ipados", supervised=True), {"passcode", "restrictions"}, None,
         {"osupdate is a declaration; this device is not managed declaratively",
          "updatesettings is a declaration; this device is not managed declaratively"}),
        # iPadOS 26, supervised: everything as declarations, nothing by command.
        (DeviceFacts("ipados", supervised=True, declarative=True, os_version="26.0"), set(),
         {"declaration.passcode": PASSCODE, "declaration.osupdate": OSUPDATE,
          "declaration.updatesettings": UPDATE_SETTINGS, "legacy.restrictions": LEGACY}, set()),
        # Unsupervised: the deferral is a supervised-only key; the rest of the settings stay.
        (DeviceFacts("ipados", declarative=True, os_version="26.0"), set(),
         {"declaration.passcode": PASSCODE, "declaration.osupdate": OSUPDATE,
          "declaration.updatesettings": UPDATE_SETTINGS, "legacy.restrictions": LEGACY},
         {"Deferrals needs a supervised device"}),
        # iPadOS 16: passcode as a declaration, but no OS update or update settings declaration yet.
        (DeviceFacts("ipados", supervised=True, declarative=True, os_version="16.4"), set(),
         {"declaration.passcode": PASSCODE, "legacy.restrictions": LEGACY},
         {"osupdate needs ipados 17.0 or later (the device runs 16.4)",
          "updatesettings needs ipados 18.0 or later (the device runs 16.4)"}),
        # Shared iPad: no passcode either way (Apple allows neither the profile nor the declaration there).
        (DeviceFacts("ipados", supervised=True, shared_ipad=True, declarative=True, os_version="26.0"), set(),
         {"declaration.osupdate": OSUPDATE, "declaration.updatesettings": UPDATE_SETTINGS,
          "legacy.restrictions": LEGACY}, {"passcode is not allowed on a Shared iPad"}),
    ],
)
def test_each_setting_goes_one_way_only(facts, profiles, declarations, left_out):
    effective, result = compiled(facts)
    assert {artifact.identifier.rsplit(".", 1)[-1] for artifact in result.artifacts} == profiles
    assert {note.reason.split(": ")[-1] for note in effective.left_out} == left_out
    if declarations is None:
        assert result.declarative is None
        return
    found = types_of(result)
    for fixed in ("activation", "status-subscriptions", "management.server-capabilities", "management.properties"):
        assert fixed in found
    assert {name: kind for name, kind in found.items() if name.startswith(("declaration.", "legacy."))} == declarations


def test_every_declaration_fits_apples_schema_and_the_activation_names_every_configuration():
    _, result = compiled(DeviceFacts("ipados", supervised=True, declarative=True, os_version="26.0"))
    found = result.declarative.declaration_set(lambda profile: f"https://mdm.bergvik.no/p/{profile.uuid}")
    for declaration in found.declarations:
        assert check(declaration) == [], declaration.type
    (activation,) = [item for item in found.declarations if item.kind == "activation"]
    assert sorted(activation.payload["StandardConfigurations"]) == sorted(
        item.identifier for item in found.declarations if item.kind == "configuration")
    passcode = next(item for item in found.declarations if item.type == PASSCODE)
    assert passcode.payload == {"MinimumLength": 6, "RequireComplexPasscode": True}
    osupdate = next(item for item in found.declarations if item.type == OSUPDATE)
    assert osupdate.payload == {"TargetOSVersion": "26.1", "TargetBuildVersion": "23B85",
                                "TargetLocalDateTime": "2026-10-16T16:00:00"}


def test_legacy_profiles_are_named_apart_from_the_profiles_commands_install():
    _, declarative = compiled(DeviceFacts("ipados", supervised=True, declarative=True, os_version="26.0"))
    _, by_command = compiled(DeviceFacts("ipados", supervised=True))
    (legacy,) = declarative.declarative.legacy
    assert legacy.profile.identifier == "no.bergvik.mdm.flokk.declared.restrictions"
    assert {artifact.identifier for artifact in by_command.artifacts} == {
        "no.bergvik.mdm.flokk.policy.passcode", "no.bergvik.mdm.flokk.policy.restrictions"}
    urls = [item.payload["ProfileURL"] for item in
            declarative.declarative.declaration_set(lambda profile: f"https://x/{profile.uuid}").declarations if item.type == LEGACY]
    assert urls == [f"https://x/{legacy.profile.uuid}"]


def test_passcode_settings_translate_key_by_key_or_not_at_all():
    assert as_declaration({"minLength": 8, "allowSimple": True, "maxFailedAttempts": 10, "pinHistory": 3}) == {
        "MinimumLength": 8, "RequireComplexPasscode": False, "MaximumFailedAttempts": 10, "PasscodeReuseLimit": 3}
    assert as_declaration({"minLength": 8, "aKeyAppleAddsNextYear": 1}) is None  # then: the profile, as legacy


def test_a_newer_passcode_key_makes_an_older_ipad_take_the_passcode_as_a_legacy_profile():
    layer = baseline(Change.set("passcode", "requireAlphanumeric", True))
    _, newer = compiled(DeviceFacts("ipados", supervised=True, declarative=True, os_version="26.0"), layer)
    _, older = compiled(DeviceFacts("ipados", supervised=True, declarative=True, os_version="16.1"), layer)
    assert types_of(newer)["declaration.passcode"] == PASSCODE  # RequireAlphanumericPasscode: iOS 16.2
    assert types_of(older)["legacy.passcode"] == LEGACY and "declaration.passcode" not in types_of(older)


def test_subscriptions_ask_only_what_the_ipads_os_reports():
    _, new = compiled(DeviceFacts("ipados", supervised=True, declarative=True, os_version="26.0"))
    _, old = compiled(DeviceFacts("ipados", supervised=True, declarative=True, os_version="16.0"))

    def subscribed(result):
        (item,) = [d for d in result.declarative.declarations if d.type.endswith("status-subscriptions")]
        return {entry["Name"] for entry in item.payload["StatusItems"]}

    assert {"softwareupdate.install-state", "softwareupdate.failure-reason", "passcode.is-compliant",
            "device.operating-system.version", "management.declarations"} <= subscribed(new)
    assert "softwareupdate.install-state" not in subscribed(old) and "passcode.is-compliant" in subscribed(old)


def test_long_identifiers_become_uuids():
    compiler = DeclarativeCompiler(CompileOptions("no.bergvik.kommune.skole.mdm.flokk.eksempel", "Bergvik"))
    assert compiler.name("activation") == "no.bergvik.kommune.skole.mdm.flokk.eksempel.activation"
    long = compiler.name("legacy", "wifi", "a-very-long-instance-name-for-a-network")
    assert len(long) == 36 and long == compiler.name("legacy", "wifi", "a-very-long-instance-name-for-a-network")


@pytest.mark.parametrize(
    "key, value, reason",
    [
        ("TargetOSVersion", "26.x", "must be a version such as 26.1 or 18.6.2"),
        ("TargetBuildVersion", "23-B", "must be a build such as 23B85 or 22G86a"),
        ("TargetLocalDateTime", "Friday 16:00", "must be a local date and time such as 2026-10-16T16:00:00"),
        ("TargetLocalDateTime", "2026-02-30 16:00", "must be a local date and time such as 2026-10-16T16:00:00"),
        ("DetailsURL", "http://intranett/oppdatering", "must be an https:// address"),
        ("TargetOSVersion", 26, "must be a string, not an integer"),
    ],
)
def test_os_update_values_are_checked_when_set(key, value, reason):
    with pytest.raises(Refused) as refused:
        apply_changes(Layer.of("baseline"), [], [Change.set("osupdate", key, value)], actor="x")
    assert [str(item) for item in refused.value.refusals] == [f"{key}: {reason}"]


def test_a_deadline_is_stored_in_apples_format():
    layer = apply_changes(Layer.of("baseline"), [], [Change.set("osupdate", "TargetLocalDateTime", "2026-10-16 16:00")], actor="x")
    assert [entry.value for entry in layer.entries.values()] == ["2026-10-16T16:00:00"]


def test_a_school_may_set_a_later_deadline_unless_central_it_locked_it():
    locked = apply_changes(Layer.of("baseline"), [], [
        Change.set("osupdate", "TargetOSVersion", "26.1", lock=True),
        Change.set("osupdate", "TargetLocalDateTime", "2026-10-16T16:00:00", lock=True)], actor="admin:it")
    open_deadline = apply_changes(Layer.of("baseline"), [], [
        Change.set("osupdate", "TargetOSVersion", "26.1", lock=True),
        Change.set("osupdate", "TargetLocalDateTime", "2026-10-16T16:00:00")], actor="admin:it")
    later = [Change.set("osupdate", "TargetLocalDateTime", "2026-10-23T16:00:00")]
    with pytest.raises(Refused) as refused:
        apply_changes(Layer.of("school:7"), [locked], later, actor="admin:ict")
    assert str(refused.value) == "TargetLocalDateTime: is locked in baseline by admin:it"
    school = apply_changes(Layer.of("school:7"), [open_deadline], later, actor="admin:ict")
    effective = resolve([open_deadline, school], DeviceFacts("ipados", declarative=True, os_version="26.0", school="7"))
    deadline = effective.value("com.apple.configuration.softwareupdate.enforcement.specific", "TargetLocalDateTime")
    assert deadline.value == "2026-10-23T16:00:00" and str(deadline.provenance.layer) == "school:7"


def test_the_token_computed_for_a_policy_change_is_the_sets_own():
    _, result = compiled(DeviceFacts("ipados", supervised=True, declarative=True, os_version="26.0"))
    for device in range(3):
        url = lambda profile, device=device: f"https://mdm.bergvik.no/{device}/{profile.uuid}"  # noqa: E731
        assert result.declarative.token(url) == result.declarative.declaration_set(url).token
    first, second = (result.declarative.token(lambda profile, n=n: f"https://x/{n}") for n in (1, 2))
    assert first != second  # each device's own URLs are part of its set
