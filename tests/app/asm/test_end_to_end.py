"""Apple School Manager end to end, as central IT and an iPad live it, against `flokk serve` and the fake ASM.

Central IT uploads Flokk's key to ASM and imports the server token ASM
makes (openssl S/MIME); 3,000 iPads are assigned to Flokk in ASM by the
purchasers of two schools; two rules send each school's iPads to it (and
Nordby's to class 5A); `flokk asm sync` fetches them in pages, defines each
school's ADE profile at Apple and assigns it to every serial (the fake
records what was assigned). One iPad is unboxed: Setup Assistant posts its
signed MachineInfo to the profile URL, installs the enrollment profile,
gets its identity by SCEP, enrols, receives its school's policy while it
waits in Setup Assistant, escrows its Activation Lock bypass code, is told
DeviceConfigured — and is supervised, ADE-enrolled, in Nordby's class 5A.
"""

from __future__ import annotations

import plistlib
import re
import ssl
import urllib.error
import urllib.request

from cryptography import x509
from sqlalchemy import select

from app.models import Command, Device
from app.models.asm import AsmDevice
from app.services.access import cli_principal
from app.services.fleet import groups
from tests.app.mdm.test_commands import answer_for
from tests.app.mdm.test_end_to_end import flokk  # noqa: F401 - the running Flokk this test uses
from tests.support.ade import AdeIpad, device_ca
from tests.support.ipad import SimulatedIpad, read_profile, scep_enrol

NORDBY_BUYER, SORBY_BUYER = "innkjop@nordby.bergvik.no", "innkjop@sorby.bergvik.no"


def post(url: str, body: bytes, trust: ssl.SSLContext) -> tuple[int, bytes, str]:
    """What Setup Assistant sends to the profile URL: the signed MachineInfo."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/pkcs7-signature"})
    try:
        with urllib.request.urlopen(request, context=trust, timeout=30) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type", "")


def test_an_ipad_from_apple_school_manager_arrives_supervised_in_its_school(flokk, fake_dep, fake_apns, db, tmp_path):
    """`flokk serve` with Nordby (tests/app/mdm/test_end_to_end.py); Sørby and Nordby's class 5A added here."""
    run, base_url, trust = flokk.run, flokk.base_url, flokk.trust
    run("school", "add", "Sørby skole", "--code", "sorby")
    with db.unit_of_work() as session:
        groups.create_group(session, cli_principal(), school_code="nordby", name="5A")
    nordby = fake_dep.add_devices(1500, prefix="DMPN", device_assigned_by=NORDBY_BUYER)
    sorby = fake_dep.add_devices(1500, prefix="DMPS", device_assigned_by=SORBY_BUYER, color="SPACE GRAY")

    # Central IT: Flokk's key to ASM, ASM's token into Flokk.
    certificate = x509.load_pem_x509_certificate(run("asm", "key").encode())
    (tmp_path / "token.p7m").write_bytes(fake_dep.server_token(certificate))
    assert "Imported the token" in run("asm", "import", str(tmp_path / "token.p7m"))

    # Rules by who assigned the iPads in ASM; then the sync.
    run("asm", "rule", "add", "--field", "assigned_by", "--pattern", "*@nordby.bergvik.no", "--school", "nordby", "--group", "5A")
    run("asm", "rule", "add", "--pattern", "*@SORBY.bergvik.no", "--school", "sorby")
    synced = run("asm", "sync")
    assert "full fetch of 3000 device(s) in 3 page(s): 3000 new" in synced
    assert "3000 given a school by rule" in synced and "2 profile(s) defined, 3000 device(s) given their school's profile" in synced

    # Apple now holds one profile per school, assigned to exactly that school's serials.
    assigned = fake_dep.assigned()
    nordby_profiles, sorby_profiles = {assigned[s] for s in nordby}, {assigned[s] for s in sorby}
    assert len(nordby_profiles) == len(sorby_profiles) == 1 and nordby_profiles != sorby_profiles
    profile = fake_dep.profiles[nordby_profiles.pop()]
    assert profile["url"] == f"{base_url}/asm/enroll" and profile["department"] == "Nordby skole"
    assert (profile["is_supervised"], profile["is_mandatory"], profile["is_mdm_removable"], profile["await_device_configured"]) == (
        True, True, False, True)
    assert "Siri" in profile["skip_setup_items"] and profile["language"] == "nb" and profile["region"] == "NO"
    assert len(profile["anchor_certs"]) == 1  # Flokk's CA, which issued `flokk serve`'s TLS certificate
    listed = run("asm", "devices", "--school", "nordby", "--state", "expected", "--json")
    assert listed.count('"school": "nordby"') == 100 and '"class": "5A"' in listed  # the first page of 1500

    # The school's policy, which the iPad must have before it leaves Setup Assistant.
    run("policy", "set", "school:nordby", "passcode", "minLength", "6")

    # An iPad is unboxed at Nordby: Setup Assistant posts its signed MachineInfo.
    ipad = SimulatedIpad(serial=nordby[7])
    machine = AdeIpad(udid=ipad.udid, serial=ipad.serial)
    status, body, content_type = post(f"{base_url}/asm/enroll", machine.machine_info(device_ca()), trust)
    assert status == 200 and content_type.startswith("application/x-apple-aspen-config"), body[:300]
    payloads = read_profile(body)
    assert payloads.mdm["CheckInURL"] == f"{base_url}/mdm/checkin"
    scep_enrol(ipad, payloads.scep, flokk.fetch)
    transport = flokk.transport()
    assert ipad.checkin(transport, ipad.authenticate_message()).status == 200
    waiting = {**ipad.token_update_message(), "AwaitingConfiguration": True}
    assert ipad.checkin(transport, waiting).status == 200
    assert fake_apns.wait_for(1, timeout=20), "no push reached APNs"

    # Woken, it works through its queue while Setup Assistant waits.
    delivered = []
    answer = ipad.idle(transport)
    while answer.command:
        kind = answer.request_type
        delivered.append(kind)
        if kind in ("DeviceInformation", "SecurityInfo", "ProfileList", "InstalledApplicationList"):
            report = plistlib.loads(answer_for(ipad, answer.command_uuid, kind))
            if kind == "DeviceInformation":
                report["QueryResponses"].update(SerialNumber=ipad.serial, IsSupervised=True)
            answer = ipad.send(transport, plistlib.dumps(report))
        elif kind == "ActivationLockBypassCode":
            answer = ipad.report(transport, "Acknowledged", answer.command_uuid, ActivationLockBypassCode="J0KQ-8H7T-2P4X-6WME-3RNV-9YDU")
        else:
            answer = ipad.report(transport, "Acknowledged", answer.command_uuid)
    assert answer.status == 200
    assert delivered[:4] == ["DeviceInformation", "SecurityInfo", "ProfileList", "InstalledApplicationList"]
    assert "InstallProfile" in delivered and delivered[-2:] == ["ActivationLockBypassCode", "DeviceConfigured"]
    assert delivered.index("InstallProfile") < delivered.index("DeviceConfigured")

    # Central IT and Nordby's ICT contact see a supervised, ADE-enrolled iPad in class 5A.
    shown = run("device", "show", ipad.udid)
    for label, value in (("School", "nordby"), ("Supervised", "True"), ("Ade enrolled", "True"), ("State", "enrolled")):
        assert re.search(rf"^{label}:\s+{re.escape(value)}$", shown, re.MULTILINE), (label, shown)
    with db.session() as session:
        device = session.scalar(select(Device).where(Device.udid == ipad.udid))
        assert device.group.name == "5A" and not device.awaiting_configuration
        assert session.scalar(select(AsmDevice.device_id).where(AsmDevice.serial_number == ipad.serial)) == device.id
        # The bypass code is escrowed sealed, and not kept with the command's answer.
        assert b"J0KQ" not in device.activation_lock_bypass_code
        results = session.scalars(select(Command.result).where(Command.device_id == device.id)).all()
        assert not any(result and b"J0KQ" in result for result in results)
    assert run("asm", "bypass-code", ipad.udid).strip() == "J0KQ-8H7T-2P4X-6WME-3RNV-9YDU"
    assert ipad.serial in run("asm", "devices", "--school", "nordby", "--state", "enrolled")
