"""Apps as settings, and the app planner: a licence before an install, in-flight commands count as done,
refusals are explained, an app no longer required goes with its licence; planning twice queues nothing."""

from __future__ import annotations

import pytest

from profiles import Change, DeviceFacts, Layer, Refused, apply_changes, resolve
from profiles.apps import (
    AppAction,
    CatalogueApp,
    DesiredApp,
    DeviceApps,
    Licence,
    LicenceState,
    PendingApp,
    ReportedApp,
    desired_apps,
    plan_apps,
)
from profiles.compile import CompileOptions, compiler_for

EXAM, READING, GAME = "361304891", "361285480", "123456789"
CATALOGUE = {
    EXAM: CatalogueApp(EXAM, "com.apple.Numbers"),
    READING: CatalogueApp(READING, "com.apple.iWork.Keynote"),
    GAME: CatalogueApp(GAME, "com.games.fun"),
}
ASSOCIATED = Licence(LicenceState.ASSOCIATED)


def app(store_id, state="required", configuration=None, remove=True):
    return DesiredApp(store_id, state, configuration, remove)


def pending(action, store_id, command="c1", version=None, cancellable=True):
    return PendingApp(action, store_id, command, version, cancellable)


def plan(desired, device=DeviceApps(), catalogue=CATALOGUE):
    return plan_apps({item.store_id: item for item in desired}, catalogue, device)


CASES = [
    # (case, desired, device, licences requested, installs, removes, licences released, cancelled)
    ("a required app without a licence asks for one first", [app(EXAM)], DeviceApps(reported={}),
     [EXAM], [], [], [], []),
    ("with the licence assigned it is installed", [app(EXAM)], DeviceApps({EXAM: ASSOCIATED}, {}),
     [], [EXAM], [], [], []),
    ("a licence still being assigned waits", [app(EXAM)], DeviceApps({EXAM: Licence(LicenceState.ASSOCIATING)}, {}),
     [], [], [], [], []),
    ("installed and managed: nothing", [app(EXAM)], DeviceApps({EXAM: ASSOCIATED}, {"com.apple.Numbers": ReportedApp("Managed")}),
     [], [], [], [], []),
    ("still installing: nothing", [app(EXAM)], DeviceApps({EXAM: ASSOCIATED}, {"com.apple.Numbers": ReportedApp("Installing")}),
     [], [], [], [], []),
    ("an install in flight counts as done", [app(EXAM)],
     DeviceApps({EXAM: ASSOCIATED}, {}, pending=(pending(AppAction.INSTALL, EXAM),)), [], [], [], [], []),
    ("deleted by the user: installed again", [app(EXAM)],
     DeviceApps({EXAM: ASSOCIATED}, {"com.apple.Numbers": ReportedApp("ManagedButUninstalled")}), [], [EXAM], [], [], []),
    ("installed by the user: taken under management", [app(EXAM)],
     DeviceApps({EXAM: ASSOCIATED}, {"com.apple.Numbers": ReportedApp("UserInstalledApp")}), [], [EXAM], [], [], []),
    ("left the list: removed and released", [],
     DeviceApps({READING: ASSOCIATED}, {"com.apple.iWork.Keynote": ReportedApp("Managed")}), [], [], [READING], [READING], []),
    ("only available now: removed and released", [app(READING, "available")],
     DeviceApps({READING: ASSOCIATED}, {"com.apple.iWork.Keynote": ReportedApp("Managed")}), [], [], [READING], [READING], []),
    ("available, never installed by Flokk: left alone", [app(READING, "available")],
     DeviceApps({}, {"com.apple.iWork.Keynote": ReportedApp("Managed")}), [], [], [], [], []),
    ("removed: removed where managed, licence released", [app(GAME, "removed")],
     DeviceApps({GAME: ASSOCIATED}, {"com.games.fun": ReportedApp("Managed")}), [], [], [GAME], [GAME], []),
    ("a wanted licence for an app no longer required is dropped", [],
     DeviceApps({READING: Licence(LicenceState.WANTED)}, {}), [], [], [], [READING], []),
    ("a queued install the policy dropped is cancelled", [],
     DeviceApps({}, {}, pending=(pending(AppAction.INSTALL, READING, "old"),)), [], [], [], [], ["old"]),
    ("a sent install is not cancelled", [],
     DeviceApps({}, {}, pending=(pending(AppAction.INSTALL, READING, "old", cancellable=False),)), [], [], [], [], []),
    ("a queued removal of an app required again is cancelled", [app(READING)],
     DeviceApps({READING: ASSOCIATED}, {"com.apple.iWork.Keynote": ReportedApp("Managed")},
                pending=(pending(AppAction.REMOVE, READING, "rm"),)), [], [], [], [], ["rm"]),
]


@pytest.mark.parametrize(("case", "desired", "device", "requested", "installs", "removes", "released", "cancelled"),
                         CASES, ids=[case[0] for case in CASES])
def test_plan(case, desired, device, requested, installs, removes, released, cancelled):
    found = plan(desired, device)
    assert list(found.request_licences) == requested
    assert [item.store_id for item in found.install] == installs
    assert [store_id for store_id, _ in found.remove] == removes
    assert list(found.release_licences) == released
    assert list(found.cancel) == cancelled


def test_refusals_are_blocked_with_apples_word_and_not_queued_again():
    for status, words in (("UserRejected", "the user declined the installation"), ("Failed", "the installation failed")):
        found = plan([app(EXAM)], DeviceApps({EXAM: ASSOCIATED}, {"com.apple.Numbers": ReportedApp(status)}))
        assert not found.install and found.blocked == ((EXAM, found.blocked[0][1]),)
        assert words in found.blocked[0][1] and status in found.blocked[0][1]
    refused = plan([app(EXAM)], DeviceApps({EXAM: ASSOCIATED}, {}, failed={EXAM: "the device refused: no space"}))
    assert not refused.install and refused.blocked == ((EXAM, "the device refused: no space"),)


def test_an_app_outside_the_catalogue_or_a_removed_one_the_user_installed_is_blocked_with_the_reason():
    unknown = plan([app("999")], DeviceApps(reported={}), catalogue=CATALOGUE)
    assert unknown.blocked == (("999", "not among the organisation's Apps and Books apps (run flokk apps sync)"),)
    assert not unknown.request_licences
    mine = plan([app(GAME, "removed")], DeviceApps({}, {}, unmanaged=frozenset({"com.games.fun"})))
    assert mine.blocked == ((GAME, "installed by the user: Flokk can only remove apps it manages"),)
    assert not mine.remove


def test_configuration_is_sent_when_it_changes_and_not_again():
    configured = app(EXAM, configuration={"ServerURL": "https://prove.example"})
    managed = {"com.apple.Numbers": ReportedApp("Managed", has_configuration=False)}
    first = plan([configured], DeviceApps({EXAM: ASSOCIATED}, managed))
    assert [item.store_id for item in first.configure] == [EXAM]
    done = plan([configured], DeviceApps({EXAM: ASSOCIATED}, managed, configured={EXAM: configured.config_version}))
    assert not done.configure and done.changes_nothing
    changed = app(EXAM, configuration={"ServerURL": "https://ny.example"})
    again = plan([changed], DeviceApps({EXAM: ASSOCIATED}, managed, configured={EXAM: configured.config_version},
                                       pending=(pending(AppAction.CONFIGURE, EXAM, "cfg", configured.config_version),)))
    assert list(again.cancel) == ["cfg"] and [item.store_id for item in again.configure] == [EXAM]
    # a configuration someone else left on the app is cleared when the policy has none
    cleared = plan([app(EXAM)], DeviceApps({EXAM: ASSOCIATED}, {"com.apple.Numbers": ReportedApp("Managed", True)}))
    assert [item.configuration for item in cleared.configure] == [None]


def test_planning_twice_queues_nothing_new():
    device = DeviceApps({EXAM: ASSOCIATED}, {})
    first = plan([app(EXAM)], device)
    assert first.install
    in_flight = DeviceApps({EXAM: ASSOCIATED}, {}, pending=(pending(AppAction.INSTALL, EXAM, "i1"),
                                                            pending(AppAction.QUERY, None, "q1")))
    assert plan([app(EXAM)], in_flight).changes_nothing


def test_apps_are_settings_with_locks_and_resolution_but_no_profile():
    baseline = apply_changes(Layer.of("baseline"), [], [
        Change.set(f"app:{EXAM}", "State", "required", lock=True),
        Change.set(f"app:{READING}", "State", "available"),
    ], actor="admin:it")
    school = apply_changes(Layer.of("school:1"), [baseline], [Change.set(f"app:{READING}", "State", "required")],
                           actor="admin:ict")
    with pytest.raises(Refused) as refused:
        apply_changes(Layer.of("school:1"), [baseline], [Change.set(f"app:{EXAM}", "State", "removed")], actor="admin:ict")
    assert "is locked in baseline by admin:it" in str(refused.value)
    policy = resolve([baseline, school], DeviceFacts("ipados", school="1"))
    assert {store_id: item.state for store_id, item in desired_apps(policy).items()} == {EXAM: "required", READING: "required"}
    assert desired_apps(policy)[EXAM].locked
    assert compiler_for("ipados", CompileOptions("no.bergvik.flokk", "Bergvik")).compile(policy).artifacts == ()
    chrome = resolve([baseline], DeviceFacts("chromeos", school="1"))
    assert not desired_apps(chrome)
    assert any(note.reason.startswith("app:") and "no Chrome policy equivalent" in note.reason for note in chrome.left_out)


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("State", "maybe", "must be one of"),
    ("Configuration", {"a": None}, "not null"),
    ("Configuration", {"a": 2**70}, "must fit in 64 bits"),
    ("Configuration", {"a": float("nan")}, "finite"),
    ("Configuration", {"a": [{"": 1}]}, "not a non-empty string"),
    ("Configuration", {"a": "nul\x00"}, "NUL"),
    ("RemoveOnUnenroll", "yes", "must be a boolean"),
    ("Unknown", 1, "is not a key"),
])
def test_bad_app_settings_are_refused_naming_the_key(key, value, reason):
    with pytest.raises(Refused) as refused:
        apply_changes(Layer.of("baseline"), [], [Change.set(f"app:{EXAM}", key, value)], actor="x")
    assert reason in str(refused.value)
