"""Policy in the application: layers saved with versions, refusals, reconciliation through the command queue.

Runs on SQLite and PostgreSQL. ``SimulatedFleet`` plays the devices: it runs
queued profile commands, acknowledges them and reports ProfileList the way
the check-in service records it (``installed_profiles``).
"""

from __future__ import annotations

import plistlib

import pytest
from sqlalchemy import func, select

from app.errors import Forbidden, InvalidInput, NotFound
from app.models import AuditEvent, Command, CommandStatus, InstalledProfile, PolicySetting, PolicyVersion
from app.models.base import utcnow
from app.models.policy import PolicyDelivery
from app.services import policy
from app.services.access import Grant, Principal, Role, cli_principal
from app.services.pki import certificate_authority
from app.services.policy.reconciler import Scope, reconcile_device, reconcile_scope
from mdm_protocol import cms
from profiles import Change
from profiles.compile.apple import validate_profile
from tests.support import factories
from tests.support.pki import shared_ca

PREFIX = "test.flokk.flokk.policy."  # from FLOKK_PUBLIC_URL https://flokk.test


class SimulatedFleet:
    """Executes queued profile commands like devices would and reports ProfileList."""

    def __init__(self, session) -> None:
        self.session = session
        self.installed: dict[int, dict[str, dict]] = {}

    def run(self, device_ids=None, *, fail: set[str] = frozenset()) -> int:
        statement = select(Command).where(
            Command.status == CommandStatus.QUEUED, Command.request_type.in_(["InstallProfile", "RemoveProfile"])
        )
        if device_ids is not None:
            statement = statement.where(Command.device_id.in_(device_ids))
        done = 0
        for command in self.session.scalars(statement.order_by(Command.id)):
            body = plistlib.loads(command.body)["Command"]
            profiles = self.installed.setdefault(command.device_id, {})
            command.status = CommandStatus.ACKNOWLEDGED
            if body["RequestType"] == "InstallProfile":
                signed = cms.verify(body["Payload"])
                assert signed.signer == shared_ca().certificate, "signed by Flokk's CA"
                profile = plistlib.loads(signed.content)
                if profile["PayloadIdentifier"] in fail:
                    command.status = CommandStatus.ERROR
                else:
                    assert validate_profile(profile, "ipados") == []
                    profiles[profile["PayloadIdentifier"]] = profile
            else:
                profiles.pop(body["Identifier"], None)
            command.sent_at = command.completed_at = utcnow()
            done += 1
        self.session.flush()
        return done

    def report(self, device) -> None:
        """What the check-in service stores after a ProfileList answer."""
        self.session.execute(InstalledProfile.__table__.delete().where(InstalledProfile.device_id == device.id))
        now = utcnow()
        for identifier, profile in self.installed.get(device.id, {}).items():
            self.session.add(
                InstalledProfile(
                    school_id=device.school_id,
                    device_id=device.id,
                    identifier=identifier,
                    uuid=profile["PayloadUUID"],
                    removal_disallowed=profile["PayloadRemovalDisallowed"],
                    is_managed=True,
                    reported_at=now,
                )
            )
        self.session.flush()


@pytest.fixture
def world(session):
    certificate_authority.import_ca(session, cli_principal(), shared_ca().certificate_pem(), shared_ca().key_pem())
    school_a = factories.school(session, code="nordby", name="Nordby skole")
    school_b = factories.school(session, code="sorby", name="Sørby skole")
    class_5a = factories.group(session, school_a, "5A")
    class_6b = factories.group(session, school_a, "6B")
    class_7c = factories.group(session, school_b, "7C")
    ipads = {}
    for name, school, group in (("a1", school_a, class_5a), ("a2", school_a, class_6b), ("b1", school_b, class_7c)):
        device = factories.device(session, school, group=group)
        device.supervised = True
        ipads[name] = device
    chromebook = factories.device(session, school_b, platform="chromeos")
    session.flush()
    return {"a": school_a, "b": school_b, "5a": class_5a, "6b": class_6b, "7c": class_7c, "ipads": ipads, "chromebook": chromebook}


@pytest.fixture
def fleet(session):
    return SimulatedFleet(session)


def _profile(command: Command) -> dict:
    return plistlib.loads(cms.verify(plistlib.loads(command.body)["Command"]["Payload"]).content)


def ict(school) -> Principal:
    return Principal("admin", 1000 + school.id, f"admin:ict@{school.code}.no", (Grant(Role.SCHOOL_ICT, school.id),))


def count(session, model, *conditions) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*conditions))


def queued(session, request_type="InstallProfile") -> list[Command]:
    return list(session.scalars(select(Command).where(Command.status == CommandStatus.QUEUED, Command.request_type == request_type)))


def central_baseline(session, principal):
    return policy.change(
        session,
        principal,
        "baseline",
        [Change.set("restrictions", "allowCamera", False, lock=True), Change.set("passcode", "minLength", 6)],
    )


def test_the_issue_scenario_end_to_end(session, principal, world, fleet):
    result = central_baseline(session, principal)
    assert result.version.number == 1
    assert result.report.install_count == 6 and result.report.skipped  # 3 iPads x 2 profiles; the Chromebook is skipped

    school_a = policy.change(
        session,
        ict(world["a"]),
        "school:nordby",
        [
            Change.set("passcode", "minLength", 8),
            Change.set("wifi:nordby", "SSID_STR", "Nordby"),
            Change.set("wifi:nordby", "EncryptionType", "WPA2"),
            Change.set("wifi:nordby", "Password", "korrekt-hest"),
        ],
    )
    assert school_a.report.installs == {
        (world["a"].id, PREFIX + "passcode"): 2,
        (world["a"].id, PREFIX + "wifi.nordby"): 2,
    }
    assert school_a.report.cancelled == 2, "the baseline passcode still queued for school A is now pointless"

    with pytest.raises(InvalidInput) as refused:
        policy.change(session, ict(world["b"]), "school:sorby", [Change.set("restrictions", "allowCamera", True)])
    assert refused.value.details == {"allowCamera": ["is locked in baseline by " + principal.label]}

    for name, passcode, profiles in (("a1", 8, 3), ("a2", 8, 3), ("b1", 6, 2)):
        view = policy.effective(session, principal, f"#{world['ipads'][name].id}")
        camera = view.policy.value("restrictions", "allowCamera")
        assert (camera.value, camera.provenance.locked, view.labels[camera.provenance.locked_in]) == (False, True, "baseline")
        length = view.policy.value("passcode", "minLength")
        assert length.value == passcode
        assert view.labels[length.provenance.layer] == ("school:nordby" if passcode == 8 else "baseline")
        assert len(view.compiled.artifacts) == profiles

    assert fleet.run() == 3 * 2 + 2 * 2 - 2  # what is still queued: cancelled ones are never run
    for device in world["ipads"].values():
        fleet.report(device)
    again = reconcile_scope(session, principal, Scope(organisation_id=world["a"].organisation_id))
    assert again.queued == 0 and again.up_to_date == 3
    assert len(fleet.installed[world["ipads"]["a1"].id]) == 3


def test_refusal_saves_nothing_and_is_audited_durably(db, session, world):
    session.commit()
    with db.unit_of_work() as session:
        central_baseline(session, cli_principal())
    school_b = world["b"]
    with pytest.raises(InvalidInput):
        with db.unit_of_work() as session:
            policy.change(
                session,
                ict(school_b),
                "school:sorby",
                [Change.set("passcode", "minLength", 4), Change.set("restrictions", "allowCamera", True)],
            )
    with db.session() as session:
        assert count(session, PolicySetting, PolicySetting.school_id == school_b.id) == 0
        assert count(session, PolicyVersion, PolicyVersion.school_id == school_b.id) == 0
        denied = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).one()
        assert (denied.action, denied.school_id, denied.actor) == ("policy.change", school_b.id, "admin:ict@sorby.no")
        assert "allowCamera" in denied.details["refused"]


@pytest.mark.parametrize(
    ("changes", "key", "reason"),
    [
        ([Change.set("passcode", "minLength", "six")], "minLength", "must be an integer, not a string"),
        ([Change.set("passcode", "minLength", 17)], "minLength", "must be at most 16"),
        ([Change.set("passcode", "minLenght", 6)], "minLenght", "is not a key Apple's schema knows"),
        ([Change.set("softwareupdate", "AutomaticCheckEnabled", True)], "com.apple.SoftwareUpdate", "not available on ipados"),
    ],
)
def test_invalid_values_on_a_device_layer_are_refused_with_key_and_reason(session, principal, world, changes, key, reason):
    device = world["ipads"]["a1"]
    with pytest.raises(InvalidInput) as refused:
        policy.change(session, principal, f"device:{device.serial_number}", changes)
    assert any(reason in text for text in refused.value.details[key])
    assert count(session, PolicySetting) == 0


def test_school_ict_rights(session, principal, world):
    central_baseline(session, principal)
    with pytest.raises(Forbidden):
        policy.change(session, ict(world["a"]), "baseline", [Change.set("passcode", "minLength", 4)])
    with pytest.raises(NotFound):
        policy.change(session, ict(world["a"]), "school:sorby", [Change.set("passcode", "minLength", 4)])
    with pytest.raises(NotFound):
        policy.effective(session, ict(world["a"]), f"#{world['ipads']['b1'].id}")
    auditor = Principal("admin", 7, "admin:revisor", (Grant(Role.AUDITOR, None),))
    with pytest.raises(Forbidden):
        policy.change(session, auditor, "school:nordby", [Change.set("passcode", "minLength", 4)])
    views = policy.show_layers(session, ict(world["a"]), school="nordby", group="5A")
    assert [view.label for view in views] == ["baseline", "school:nordby", "group:nordby/5A"]
    ok = policy.change(session, ict(world["a"]), "group:nordby/5A", [Change.set("passcode", "minLength", 10)])
    assert ok.report.installs == {(world["a"].id, PREFIX + "passcode"): 1}


def test_preview_counts_per_school_and_profile_and_writes_nothing(session, principal, world, fleet):
    central_baseline(session, principal)
    policy.change(session, principal, "school:nordby", [Change.set("passcode", "minLength", 8)])
    fleet.run()
    for device in world["ipads"].values():
        fleet.report(device)
    commands_before, versions_before = count(session, Command), count(session, PolicyVersion)
    preview = policy.change(session, principal, "baseline", [Change.set("passcode", "minLength", 7)], dry_run=True)
    assert preview.version is None
    assert preview.changes == ["~ com.apple.mobiledevice.passwordpolicy minLength: 6 -> 7"]
    assert preview.report.installs == {(world["b"].id, PREFIX + "passcode"): 1}, "school A overrides the default"
    assert preview.report.up_to_date == 2
    assert (count(session, Command), count(session, PolicyVersion)) == (commands_before, versions_before)

    lock = policy.change(session, principal, "baseline", [Change.lock_it("passcode", "minLength")], dry_run=True)
    # School A gets the baseline value back; school B keeps 6 but the profile becomes non-removable.
    assert lock.report.installs == {(world["a"].id, PREFIX + "passcode"): 2, (world["b"].id, PREFIX + "passcode"): 1}
    assert any("ignored: locked in baseline" in note for (_, note) in lock.report.left_out)


def test_content_change_reinstalls_same_identifier_and_twice_queues_nothing(session, principal, world, fleet):
    central_baseline(session, principal)
    fleet.run()
    for device in world["ipads"].values():
        fleet.report(device)
    before = {identifier: profile["PayloadUUID"] for identifier, profile in fleet.installed[world["ipads"]["b1"].id].items()}
    policy.change(session, principal, "baseline", [Change.set("passcode", "minLength", 7)])
    installs = queued(session)
    assert len(installs) == 3
    assert {_profile(c)["PayloadIdentifier"] for c in installs} == {PREFIX + "passcode"}
    assert reconcile_scope(session, principal, Scope(organisation_id=world["a"].organisation_id)).queued == 0
    fleet.run()
    after = fleet.installed[world["ipads"]["b1"].id]
    assert set(after) == set(before)
    assert after[PREFIX + "passcode"]["PayloadUUID"] != before[PREFIX + "passcode"]
    assert after[PREFIX + "restrictions"]["PayloadUUID"] == before[PREFIX + "restrictions"]
    # Acknowledged but not yet reported in a ProfileList: still counts as installed.
    assert reconcile_scope(session, principal, Scope(organisation_id=world["a"].organisation_id)).queued == 0


def test_removal_and_moves(session, principal, world, fleet):
    central_baseline(session, principal)
    policy.change(session, principal, "group:nordby/5A", [Change.set("webclip:matte", "URL", "https://matte.example/"),
                                                         Change.set("webclip:matte", "Label", "Matte")])
    fleet.run()
    a1 = world["ipads"]["a1"]
    fleet.report(a1)
    assert PREFIX + "webclip.matte" in fleet.installed[a1.id]

    a1.group_id = world["6b"].id
    session.flush()
    moved = reconcile_device(session, a1.id, principal)
    assert moved.removes == {(world["a"].id, PREFIX + "webclip.matte"): 1}
    fleet.run()
    assert PREFIX + "webclip.matte" not in fleet.installed[a1.id]
    fleet.report(a1)

    policy.change(session, principal, "school:sorby", [Change.set("passcode", "minLength", 9)])
    fleet.run()
    a1.school_id, a1.group_id = world["b"].id, world["7c"].id
    session.flush()
    changed_school = reconcile_device(session, a1.id, principal)
    assert changed_school.installs == {(world["b"].id, PREFIX + "passcode"): 1}
    assert changed_school.removes == {}


def test_removing_a_queued_profile_cancels_instead_of_removing(session, principal, world):
    policy.change(session, principal, "school:sorby", [Change.set("wifi:gjest", "SSID_STR", "Gjest")])
    result = policy.change(session, principal, "school:sorby", [Change.remove("wifi:gjest")])
    assert result.report.cancelled == 1 and result.report.remove_count == 0
    assert queued(session, "RemoveProfile") == []


def test_profiles_outside_the_policy_and_refused_installs(session, principal, world, fleet):
    b1 = world["ipads"]["b1"]
    session.add_all(
        [
            InstalledProfile(school_id=b1.school_id, device_id=b1.id, identifier="com.vendor.vpn", uuid="X",
                             is_managed=True, reported_at=utcnow()),
            InstalledProfile(school_id=b1.school_id, device_id=b1.id, identifier=PREFIX + "wifi.hand", uuid="Y",
                             is_managed=False, reported_at=utcnow()),
            InstalledProfile(school_id=b1.school_id, device_id=b1.id, identifier="test.flokk.flokk.enrollment.sorby", uuid="Z",
                             is_managed=True, reported_at=utcnow()),
        ]
    )
    session.flush()
    result = central_baseline(session, principal)
    assert result.report.unmanaged == {world["b"].id: 1}
    assert queued(session, "RemoveProfile") == []

    policy.change(session, principal, "school:sorby", [Change.set("passcode", "minLength", 9)])
    fleet.run(fail={PREFIX + "passcode"})
    again = reconcile_device(session, b1.id)
    assert again.queued == 0
    assert [reason for (_, identifier, reason) in again.blocked if identifier == PREFIX + "passcode"]
    view = policy.effective(session, principal, b1.serial_number)
    assert {item.identifier for item in view.plan.unmanaged} == {"com.vendor.vpn", PREFIX + "wifi.hand"}


def test_secrets_are_sealed_at_rest_and_masked_everywhere(session, principal, world):
    policy.change(session, principal, "school:nordby", [Change.set("wifi:nordby", "SSID_STR", "Nordby"),
                                                        Change.set("wifi:nordby", "Password", "super-hemmelig")])
    stored = session.scalars(select(PolicySetting).where(PolicySetting.key == "Password")).one()
    assert stored.value is None and b"super-hemmelig" not in stored.sealed_value
    version = session.scalars(select(PolicyVersion)).one()
    texts = [str(version.entries), str(version.changes)] + [str(event.details) for event in session.scalars(select(AuditEvent))]
    assert not any("super-hemmelig" in text for text in texts)
    layer = policy.show_layers(session, principal, school="nordby")[1].layer
    assert "super-hemmelig" in [entry.value for entry in layer.entries.values()], "unsealed when loaded"


def test_history_and_restore(session, principal, world, fleet):
    central_baseline(session, principal)
    policy.change(session, principal, "baseline", [Change.set("passcode", "minLength", 7)])
    policy.change(session, principal, "baseline", [Change.unset("passcode", "minLength")])
    label, versions = policy.history(session, principal, "baseline")
    assert label == "baseline"
    assert [(item.number, item.created_by) for item in versions] == [(1, principal.label), (2, principal.label), (3, principal.label)]
    assert versions[1].changes == ["~ com.apple.mobiledevice.passwordpolicy minLength: 6 -> 7"]
    restored = policy.restore(session, principal, "baseline", 2)
    assert restored.version.number == 4 and restored.version.restored_from == 2
    view = policy.effective(session, principal, f"#{world['ipads']['b1'].id}")
    assert view.policy.value("passcode", "minLength").value == 7
    with pytest.raises(NotFound):
        policy.restore(session, principal, "baseline", 99)


def test_restore_respects_locks_added_since(session, principal, world):
    policy.change(session, principal, "school:sorby", [Change.set("passcode", "minLength", 4)])
    policy.change(session, principal, "school:sorby", [Change.unset("passcode", "minLength")])
    policy.change(session, principal, "baseline", [Change.set("passcode", "minLength", 6, lock=True)])
    with pytest.raises(InvalidInput, match="minLength: is locked in baseline"):
        policy.restore(session, principal, "school:sorby", 1)


def test_chromebooks_get_chrome_policies_per_school(session, principal, world):
    central_baseline(session, principal)
    compiled = policy.chrome_policies(session, principal, "sorby")
    assert [(item.schema, item.value) for item in compiled.artifacts] == [("chrome.users.VideoInput", {"videoCaptureAllowed": False})]
    view = policy.effective(session, principal, f"#{world['chromebook'].id}")
    assert view.plan is None
    assert any("no Chrome policy equivalent" in note.reason for note in view.policy.left_out)
    with pytest.raises(InvalidInput, match="not available on chromeos"):
        policy.change(session, principal, f"device:#{world['chromebook'].id}", [Change.set("passcode", "minLength", 6)])


@pytest.mark.parametrize(
    ("layer", "error", "message"),
    [
        ("district:1", InvalidInput, "unknown layer"),
        ("school:", InvalidInput, "say which school"),
        ("school:nowhere", NotFound, "no school"),
        ("group:nordby", InvalidInput, "group:SCHOOLCODE/GROUPNAME"),
        ("group:nordby/9Z", NotFound, "no group"),
        ("device:NOPE", NotFound, "no device"),
        ("baseline:x", InvalidInput, "takes no name"),
    ],
)
def test_bad_layer_names(session, principal, world, layer, error, message):
    with pytest.raises(error, match=message):
        policy.change(session, principal, layer, [Change.set("passcode", "minLength", 6)])


def test_deliveries_record_what_each_command_carries(session, principal, world):
    central_baseline(session, principal)
    deliveries = list(session.scalars(select(PolicyDelivery)))
    assert len(deliveries) == 6
    commands = {command.uuid: command for command in session.scalars(select(Command))}
    for delivery in deliveries:
        payload = _profile(commands[delivery.command_uuid])
        assert (payload["PayloadIdentifier"], payload["PayloadUUID"]) == (delivery.identifier, delivery.version)


@pytest.mark.parametrize(
    "inventory",
    [{"DeviceInformation": {"IsMultiUser": True}}, {"DeviceInformation": {"QueryResponses": {"IsMultiUser": True}}}],
)
def test_a_shared_ipad_is_recognised_from_its_device_information(session, principal, world, inventory):
    central_baseline(session, principal)
    shared = world["ipads"]["b1"]
    shared.inventory = inventory
    session.flush()
    view = policy.effective(session, principal, shared.serial_number)
    assert view.policy.facts.shared_ipad
    assert view.policy.payload("passcode") is None
    assert any(note.reason == "passcode is not allowed on a Shared iPad" for note in view.policy.left_out)
    normal = policy.effective(session, principal, world["ipads"]["a1"].serial_number)
    assert not normal.policy.facts.shared_ipad and normal.policy.payload("passcode") is not None


def test_effective_view_says_where_each_profile_stands(session, principal, world, fleet):
    central_baseline(session, principal)
    a1 = world["ipads"]["a1"]
    states = lambda: {  # noqa: E731
        artifact.identifier: view.status.state_of(artifact.identifier, artifact.version)
        for view in [policy.effective(session, principal, a1.serial_number)]
        for artifact in view.compiled.artifacts
    }
    assert set(states().values()) == {"queued"}
    fleet.run([a1.id])
    assert set(states().values()) == {"sent, not yet reported back"}
    fleet.report(a1)
    assert set(states().values()) == {"installed"}
    session.execute(InstalledProfile.__table__.delete())
    session.execute(PolicyDelivery.__table__.delete())
    assert set(states().values()) == {"to install"}


def test_moving_a_device_to_another_class_reconciles_it(session, principal, world, fleet):
    from app.services.fleet import devices

    policy.change(session, principal, "group:nordby/6B", [Change.set("singleapp", "App", {"Identifier": "no.udir.eksamen"})])
    fleet.run()
    a1 = world["ipads"]["a1"]
    fleet.report(a1)
    devices.move_to_group(session, principal, a1.id, world["6b"].id)
    assert [_profile(command)["PayloadIdentifier"] for command in queued(session)] == [PREFIX + "singleapp"]
    fleet.run()
    devices.move_to_group(session, principal, a1.id, None)
    (remove,) = queued(session, "RemoveProfile")
    assert plistlib.loads(remove.body)["Command"]["Identifier"] == PREFIX + "singleapp"
