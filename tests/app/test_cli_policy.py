"""`flokk policy ...` as central IT uses it: clear output, one-line errors, nothing half-saved."""

import json

import pytest
from sqlalchemy import select

from app.models import Command, School
from app.services.access import cli_principal
from app.services.pki import certificate_authority
from mdm_protocol import cms
from tests.support import count_rows, factories
from tests.support.pki import shared_ca


@pytest.fixture
def fleet(cli, db):
    with db.session() as session:
        factories.organisation(session)
        certificate_authority.import_ca(session, cli_principal(), shared_ca().certificate_pem(), shared_ca().key_pem())
        for code in ("nordby", "sorby"):
            school = factories.school(session, code=code, name=code.title())
            group = factories.group(session, school, "5A")
            for _ in range(2):
                factories.device(session, school, group=group).supervised = True
        factories.device(session, school, platform="chromeos")
        session.commit()
    return db


def ok(cli, *args, input=None):
    result = cli(*args, input=input)
    assert result.exit_code == 0, result.output
    return result.output


def test_set_preview_show_history_restore(cli, fleet):
    out = ok(cli, "policy", "set", "baseline", "restrictions", "allowCamera", "false", "--lock")
    assert "Saved baseline version 1" in out and "+ com.apple.applicationaccess allowCamera = false (locked)" in out
    assert "queued 4 install(s)" in out and "Skipped 1 device(s): Chromebooks" in out
    ok(cli, "policy", "set", "baseline", "passcode", "minLength", "6")
    ok(cli, "policy", "set", "school:nordby", "passcode", "minLength", "8")

    preview = ok(cli, "policy", "preview", "baseline", "passcode", "minLength", "7")
    assert preview.startswith("Preview of baseline (nothing saved):")
    assert "would queue 2 install(s)" in preview
    rows = [line.split() for line in preview.splitlines() if "policy.passcode" in line]
    assert rows == [["sorby", "test.flokk.flokk.policy.passcode", "install", "2"]]

    shown = json.loads(ok(cli, "policy", "show", "--school", "nordby", "--json"))
    assert [layer["layer"] for layer in shown] == ["baseline", "school:nordby"]
    assert shown[0]["entries"][0]["lock"].startswith("locked by cli:")

    history = ok(cli, "policy", "history", "baseline")
    assert "baseline version 2" in history and "+ com.apple.mobiledevice.passwordpolicy minLength = 6" in history
    restored = ok(cli, "policy", "restore", "baseline", "1")
    assert "Restored baseline version 1 as version 3" in restored
    assert "- com.apple.mobiledevice.passwordpolicy minLength (was 6)" in restored


def test_effective_policy_of_a_device_shows_provenance(cli, fleet, db):
    ok(cli, "policy", "set", "baseline", "restrictions", "allowCamera", "false", "--lock")
    ok(cli, "policy", "set", "baseline", "passcode", "minLength", "6")
    ok(cli, "policy", "set", "school:nordby", "passcode", "minLength", "8")
    with db.session() as session:
        serial = session.scalars(select(School).where(School.code == "nordby")).one()
        from app.models import Device

        serial = session.scalars(select(Device.serial_number).where(Device.school_id == serial.id)).first()
    out = ok(cli, "policy", "show", "--effective", serial)
    assert f"Device {serial} (ipados, supervised) in baseline, school:nordby" in out
    camera = next(line for line in out.splitlines() if "allowCamera" in line)
    assert "baseline" in camera and "locked in baseline by cli:" in camera
    passcode = next(line for line in out.splitlines() if "minLength" in line)
    assert "school:nordby" in passcode and "baseline=6" in passcode
    data = json.loads(ok(cli, "policy", "show", "--effective", serial, "--json"))
    assert {row["key"]: row["value"] for row in data["values"]} == {"allowCamera": False, "minLength": 8}


def test_apply_sets_several_keys_in_one_version_and_masks_secrets(cli, fleet):
    document = json.dumps({"wifi:elev": {"SSID_STR": "Elev", "EncryptionType": "WPA2", "Password": "topp-hemmelig"}})
    out = ok(cli, "policy", "apply", "school:sorby", "-", input=document)
    assert "Saved school:sorby version 1" in out and "queued 2 install(s)" in out
    assert "topp-hemmelig" not in out
    assert "topp-hemmelig" not in ok(cli, "policy", "show", "--school", "sorby")
    assert "topp-hemmelig" not in ok(cli, "policy", "history", "school:sorby")


@pytest.mark.parametrize("value", [{"$data": "not base64!"}, {"$date": "yesterday"}, {"$flokk": "removed"}])
def test_apply_refuses_a_badly_encoded_value_in_one_line(cli, fleet, db, value):
    document = json.dumps({"rootcert:ca": {"PayloadContent": value}})
    before = count_rows(db, "policy_versions")
    result = cli("policy", "apply", "school:sorby", "-", input=document)
    assert result.exit_code == 1 and result.output.startswith("Error: rootcert:ca.PayloadContent:"), result.output
    assert len(result.output.strip().splitlines()) == 1
    assert count_rows(db, "policy_versions") == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "baseline", "passcode", "minLength", "40"], "minLength: must be at most 16"),
        (["set", "baseline", "passcode", "minLength", "six"], "minLength: must be a whole number"),
        (["set", "baseline", "passcode", "minLenght", "6"], "minLenght: is not a key Apple's schema knows"),
        (["set", "baseline", "tvremote", "x", "1"], "is not a payload type Flokk supports"),
        (["set", "school:sorby", "restrictions", "allowCamera", "true"], "allowCamera: is locked in baseline by cli:"),
        (["set", "school:nowhere", "passcode", "minLength", "6"], "no school with code 'nowhere'"),
        (["set", "baseline", "wifi", "SSID_STR", "x"], "wifi needs an instance name"),
        (["restore", "baseline", "9"], "baseline has no version 9"),
        (["apply", "baseline", "-"], "not JSON"),
        (["set", "baseline", "passcode", "minLength", "6", "--note", "n" * 501], "the note is longer than 500 characters"),
    ],
)
def test_bad_input_is_one_line_exit_1_and_nothing_saved(cli, fleet, db, args, message):
    ok(cli, "policy", "set", "baseline", "restrictions", "allowCamera", "false", "--lock")
    before = (count_rows(db, "policy_versions"), count_rows(db, "policy_settings"), count_rows(db, "commands"))
    result = cli("policy", *args, input="{not json")
    assert result.exit_code == 1
    assert result.output.startswith("Error:") and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert (count_rows(db, "policy_versions"), count_rows(db, "policy_settings"), count_rows(db, "commands")) == before


def test_reconcile_command_is_idempotent(cli, fleet, db):
    ok(cli, "policy", "set", "baseline", "passcode", "minLength", "6")
    commands = count_rows(db, "commands")
    out = ok(cli, "policy", "reconcile")
    assert "queued 0 install(s) and 0 removal(s)" in out
    assert count_rows(db, "commands") == commands
    dry = ok(cli, "policy", "reconcile", "--school", "nordby", "--dry-run")
    assert "2 device(s)" in dry


def test_payloads_lists_what_is_supported(cli):
    out = ok(cli, "policy", "payloads")
    for alias in ("restrictions", "passcode", "wifi", "webfilter", "homescreen", "singleapp", "notifications",
                  "education", "rootcert", "pkcs1cert", "webclip", "softwareupdate"):
        assert f"\n{alias} " in out
    keys = ok(cli, "policy", "payloads", "restrictions")
    assert any(line.startswith("allowAppInstallation") and "supervised" in line for line in keys.splitlines())


def test_certificate_from_a_file(cli, fleet, tmp_path, db):
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bergvik RADIUS CA")])
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(start).not_valid_after(start + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256())
    )
    pem = tmp_path / "ca.pem"
    pem.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    ok(cli, "policy", "set", "school:nordby", "rootcert:radius", "PayloadContent", f"@{pem}")
    document = json.dumps({"wifi:ansatt": {"SSID_STR": "Ansatt", "EncryptionType": "WPA2",
                                           "EAPClientConfiguration": {"AcceptEAPTypes": [25], "PayloadCertificateAnchorUUID": ["radius"]}}})
    out = ok(cli, "policy", "apply", "school:nordby", "-", input=document)
    assert [line.split() for line in out.splitlines() if "wifi.ansatt" in line] == [
        ["nordby", "test.flokk.flokk.policy.wifi.ansatt", "install", "2"]
    ]
    with db.session() as session:
        import plistlib

        bodies = [
            plistlib.loads(cms.verify(plistlib.loads(command.body)["Command"]["Payload"]).content)
            for command in session.scalars(select(Command))
        ]
    wifi = next(body for body in bodies if body["PayloadIdentifier"].endswith("wifi.ansatt"))
    anchor = wifi["PayloadContent"][1]
    assert anchor["PayloadContent"] == certificate.public_bytes(serialization.Encoding.DER)
    assert wifi["PayloadContent"][0]["EAPClientConfiguration"]["PayloadCertificateAnchorUUID"] == [anchor["PayloadUUID"]]
