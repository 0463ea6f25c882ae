"""MDM benchmark: Idle check-ins, command round trips and a 50,000-device push, on PostgreSQL.

Starts everything it measures on this machine, as production runs it:

- a fresh PostgreSQL schema, ``flokk init``, the push certificate of a fake
  APNs (``tests/fakes/apns.py`` in its own process), a school and an
  enrollment URL;
- ``flokk serve`` (gunicorn, TLS) with the workers and threads given;
- N simulated iPads that each download the enrollment profile, get their own
  identity by SCEP (RSA 2048, as iPads do), and enrol (Authenticate,
  TokenUpdate). Every request body carries a fresh Mdm-Signature.

Then it measures (see README.md):

(a) Idle check-ins with empty queues, (b) full command round trips (the
command handed out, its Acknowledged answer recorded), (c) one command
queued for 50,000 devices and pushed to the fake APNs (enqueue and push as
``flokk command send school:CODE`` does them, timed separately).

Usage: python bench/mdm/run.py [--devices 200] [--seconds 20] [--clients 2 --connections 16]
       [--workers 2 --threads 4] [--push-devices 50000] [--database postgresql://...]
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import itertools
import json
import multiprocessing
import os
import plistlib
import re
import secrets
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.client import HTTPSConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import serialization  # noqa: E402

from mdm_protocol import cms  # noqa: E402
from tests.support.ipad import SimulatedIpad, read_profile, scep_enrol  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- processes we start --------------------------------------------------------------


class Stack:
    """PostgreSQL schema, fake APNs, `flokk serve`: started in order, stopped in reverse."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.folder = Path(tempfile.mkdtemp(prefix="flokk-bench-"))
        self.schema = f"flokk_bench_{secrets.token_hex(4)}"
        self.port = free_port()
        self.base_url = f"https://localhost:{self.port}"
        base = args.database.replace("postgresql://", "postgresql+psycopg://", 1)
        separator = "&" if "?" in base else "?"
        self.env = {
            **os.environ,
            "FLOKK_DATABASE_URL": f"{base}{separator}options=-csearch_path%3D{self.schema}",
            "FLOKK_DATA_DIR": str(self.folder / "data"),
            "FLOKK_SECRET_KEY": secrets.token_urlsafe(40),
            "FLOKK_PUBLIC_URL": self.base_url,
            "FLOKK_LOG_LEVEL": "WARNING",
            # the API phase's 1,000-device batch is queued at once (no second admin's approval)
            "FLOKK_APPROVAL_BULK_THRESHOLD": "100000",
        }
        self.processes: list[subprocess.Popen] = []

    def flokk(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "app.cli", *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"flokk {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def start(self) -> None:
        import psycopg

        with psycopg.connect(self.args.database, autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {self.schema}")
        apns_dir = self.folder / "apns"
        apns_port = free_port()
        self.apns = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.apns", "--port", str(apns_port), "--dir", str(apns_dir)],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(self.apns)
        _wait_for(lambda: (apns_dir / "topic").exists(), "the fake APNs")
        self.apns_count_file = apns_dir / "count"
        self.env.update(FLOKK_APNS_URL=f"https://127.0.0.1:{apns_port}", FLOKK_APNS_CA_FILE=str(apns_dir / "ca.pem"))
        self.flokk("init", "--organisation", "Bench kommune")
        self.flokk("apns", "import", str(apns_dir / "push.pem"), str(apns_dir / "push.key"))
        self.flokk("school", "add", "Bench skole", "--code", "bench")
        self.flokk("school", "add", "Bulk skole", "--code", "bulk")
        self.flokk("school", "add", "Batch skole", "--code", "batch")
        created = self.flokk("enroll", "token", "create", "--school", "bench", "--expires", "1d")
        self.enrollment_url = re.search(r"https://\S+/enroll/\S+", created).group(0)
        self.server = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.args.workers), "--threads", str(self.args.threads)],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(self.server)
        ca_pem = self.folder / "ca.pem"
        ca_pem.write_text(self.flokk("ca", "show", "--pem"))
        self.trust_files = [str(ca_pem), str(self.folder / "data" / "tls" / "server.crt")]
        _wait_for(self._healthy, "flokk serve")

    def trust(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.trust_files[0])
        context.load_verify_locations(cafile=self.trust_files[1])
        return context

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", context=self.trust(), timeout=5):
                return True
        except OSError:
            return False

    def server_pids(self) -> list[int]:
        children = Path(f"/proc/{self.server.pid}/task/{self.server.pid}/children").read_text().split()
        return [self.server.pid, *map(int, children)]

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        import psycopg

        with psycopg.connect(self.args.database, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


def _wait_for(check, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start")
        time.sleep(0.3)


# --- CPU and memory of a set of processes ------------------------------------------------


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pids: list[int]) -> list[float]:
    sizes = []
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        except FileNotFoundError:
            pass
    return sizes


# --- the simulated iPads -------------------------------------------------------------------


@dataclass
class Identity:
    udid: str
    cert_pem: bytes
    key_pem: bytes


def _enrol_one(job: tuple[str, str, list[str]]) -> Identity:
    base_url, enrollment_url, trust_files = job
    context = ssl.create_default_context(cafile=trust_files[0])
    context.load_verify_locations(cafile=trust_files[1])

    def fetch(method: str, url: str, body: bytes | None = None) -> bytes:
        request = urllib.request.Request(url, data=body, method=method,
                                         headers={"Content-Type": "application/x-pki-message"} if body else {})
        with urllib.request.urlopen(request, context=context, timeout=60) as response:
            return response.read()

    ipad = SimulatedIpad()
    payloads = read_profile(fetch("GET", enrollment_url))
    scep_enrol(ipad, payloads.scep, fetch)
    client = Client(base_url, context)
    for message in (ipad.authenticate_message(), ipad.token_update_message()):
        body = plistlib.dumps(message)
        status, _ = client.put("/mdm/checkin", body, _signed(body, ipad.certificate, ipad.key, "checkin"))
        assert status == 200, status
    return Identity(
        ipad.udid,
        ipad.certificate.public_bytes(serialization.Encoding.PEM),
        ipad.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption()),
    )


def _signed(body: bytes, certificate, key, kind: str) -> dict[str, str]:
    signature = cms.sign(body, certificate, key, detached=True)
    content_type = "application/x-apple-aspen-mdm-checkin" if kind == "checkin" else "application/x-apple-aspen-mdm"
    return {"Mdm-Signature": base64.b64encode(signature).decode(), "Content-Type": content_type}


class TemplateSigner:
    """The load generator's signer: a fresh RSA signature per body, without rebuilding the CMS.

    ``cms.sign`` builds the whole SignedData with asn1crypto every time (about
    2 ms of the client's CPU, which shares this machine with the server). Here
    one SignedData made by ``cms.sign`` is the template: for each body only
    the messageDigest and signingTime attributes and the signature over the
    attributes change, all of fixed length. Flokk verifies every one with
    ``cms.verify_detached`` like any other, so a wrong splice would show as
    401s. Each message is signed a second after the one before (a simulated
    clock from ``clock_start``, as a real iPad's messages are seconds apart):
    Flokk refuses a signature it has seen before, and an Idle body is the same
    every time. Each load phase starts its clocks a day after the previous
    one's, so no phase repeats a signature of an earlier one.
    """

    def __init__(self, certificate, key, clock_start: float | None = None) -> None:
        from asn1crypto import cms as asn1_cms

        probe = b"flokk bench probe"
        self.key = key
        self.template = cms.sign(probe, certificate, key, detached=True)
        signer_info = asn1_cms.ContentInfo.load(self.template)["content"]["signer_infos"][0]
        attributes = signer_info["signed_attrs"].dump()
        self.attributes_at = self.template.index(attributes)
        self.attributes = attributes
        digest = hashlib.sha256(probe).digest()
        self.digest_at = attributes.index(digest)
        signing_time = signer_info["signed_attrs"][1]["values"][0]  # contentType, signingTime, messageDigest
        self.time_at = attributes.index(signing_time.dump()) + 2  # the 13 characters of a UTCTime
        started = time.time() if clock_start is None else clock_start
        self.signed_at = datetime.datetime.fromtimestamp(int(started), datetime.timezone.utc)
        signature = signer_info["signature"].native
        self.signature_at = self.template.index(signature)
        self.signature_length = len(signature)

    def headers(self, body: bytes, kind: str) -> dict[str, str]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        digest = hashlib.sha256(body).digest()
        self.signed_at += datetime.timedelta(seconds=1)
        moment = self.signed_at.strftime("%y%m%d%H%M%SZ").encode()
        attributes = self.attributes[: self.time_at] + moment + self.attributes[self.time_at + 13 :]
        attributes = attributes[: self.digest_at] + digest + attributes[self.digest_at + 32 :]
        signature = self.key.sign(b"\x31" + attributes[1:], padding.PKCS1v15(), hashes.SHA256())
        assert len(signature) == self.signature_length
        out = bytearray(self.template)
        out[self.attributes_at : self.attributes_at + len(attributes)] = attributes
        out[self.signature_at : self.signature_at + len(signature)] = signature
        content_type = "application/x-apple-aspen-mdm-checkin" if kind == "checkin" else "application/x-apple-aspen-mdm"
        return {"Mdm-Signature": base64.b64encode(bytes(out)).decode(), "Content-Type": content_type}


class Client:
    """One keep-alive HTTPS connection, reopened when the server closes it."""

    def __init__(self, base_url: str, context: ssl.SSLContext) -> None:
        host, port = base_url.removeprefix("https://").split(":")
        self.host, self.port, self.context = host, int(port), context
        self.connection: HTTPSConnection | None = None

    def put(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        return self.request("PUT", path, body, headers)

    def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        for attempt in range(3):
            if self.connection is None:
                self.connection = HTTPSConnection(self.host, self.port, context=self.context, timeout=60)
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.connection.close()
                    self.connection = None
                return response.status, data
            except (ConnectionError, OSError, Exception) as error:  # noqa: BLE001 - reconnect once
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise error
        raise AssertionError("unreachable")


def _load_worker(job: dict) -> dict:
    """A client process: ``connections`` threads, each driving its share of the iPads."""
    from cryptography import x509

    context = ssl.create_default_context(cafile=job["trust"][0])
    context.load_verify_locations(cafile=job["trust"][1])
    device_ids = {identity["udid"]: identity.get("device_id") for identity in job["identities"]}
    ipads = [
        (identity["udid"], TemplateSigner(x509.load_pem_x509_certificate(identity["cert"].encode()),
                                          serialization.load_pem_private_key(identity["key"].encode(), None),
                                          job["clock_start"]))
        for identity in job["identities"]
    ]
    latencies: list[float] = []
    counts = {"requests": 0, "commands": 0, "errors": 0, "api": 0}
    lock = threading.Lock()
    start_at, stop_at = job["start_at"], job["start_at"] + job["seconds"]

    def drive(share):
        client = Client(job["base_url"], context)
        mine, done = [], {"requests": 0, "commands": 0, "errors": 0, "api": 0}
        while time.time() < start_at:
            time.sleep(0.01)
        index = empty_in_a_row = 0
        if job["mode"].startswith("api"):
            _drive_api(job, client, share, device_ids, stop_at, mine, done)
            share = []
        while time.time() < stop_at and share:
            if job["mode"] == "roundtrip" and empty_in_a_row >= len(share):
                break  # every queue of this share is drained
            udid, signer = share[index % len(share)]
            index += 1
            body = plistlib.dumps({"Status": "Idle", "UDID": udid})
            empty_in_a_row += 1
            while True:
                began = time.perf_counter()
                status, answer = client.put("/mdm/connect", body, signer.headers(body, "command"))
                mine.append(time.perf_counter() - began)
                done["requests"] += 1
                if status != 200:
                    done["errors"] += 1
                    break
                if not answer or job["mode"] == "idle":
                    break
                command = plistlib.loads(answer)
                done["commands"] += 1
                empty_in_a_row = 0
                body = plistlib.dumps({"Status": "Acknowledged", "UDID": udid, "CommandUUID": command["CommandUUID"]})
        with lock:
            latencies.extend(mine)
            for key_ in counts:
                counts[key_] += done[key_]

    shares = [ipads[i :: job["connections"]] for i in range(job["connections"])]
    threads = [threading.Thread(target=drive, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "cpu": time.process_time(), **counts}


#: What the API phases' iPads answer DeviceInformation with (merged into the inventory, as a real answer is).
_QUERY_RESPONSES = {
    "DeviceName": "Bench iPad", "OSVersion": "18.2", "BuildVersion": "22C152", "ModelName": "iPad",
    "Model": "MXXX2KN/A", "ProductName": "iPad13,18", "SerialNumber": "BENCH0000001", "DeviceCapacity": 64.0,
    "AvailableDeviceCapacity": 31.5, "BatteryLevel": 0.81, "IsSupervised": True, "IsMultiUser": False,
    "IsActivationLockEnabled": False, "IsDeviceLocatorServiceEnabled": False, "IsMDMLostModeEnabled": False,
    "WiFiMAC": "f0:00:00:00:00:01", "BluetoothMAC": "f0:00:00:00:00:02", "TimeZone": "Europe/Oslo",
}
_API_COMMAND = json.dumps({"request_type": "DeviceInformation",
                           "params": {"Queries": ["DeviceName", "OSVersion", "SerialNumber", "BatteryLevel"]}})


def _drive_api(job: dict, client: Client, share: list, device_ids: dict, stop_at: float, latencies: list,
               done: dict) -> None:
    """API phases: ``api_enqueue`` POSTs one command per device in turn (the REST API alone);
    ``api_roundtrip`` POSTs one, then plays the iPad (Idle, the command, Acknowledged with its
    QueryResponses, the empty answer) before the next device's turn."""
    api_headers = {"Authorization": f"Bearer {job['token']}", "Content-Type": "application/json"}
    index = 0
    while time.time() < stop_at and share:
        udid, signer = share[index % len(share)]
        index += 1
        payload = json.loads(_API_COMMAND)
        payload["device_ids"] = [device_ids[udid]]
        began = time.perf_counter()
        status, answer = client.request("POST", "/api/v1/commands", json.dumps(payload).encode(), api_headers)
        latencies.append(time.perf_counter() - began)
        done["requests"] += 1
        done["api"] = done.get("api", 0) + 1
        if status != 201:
            done["errors"] += 1
            continue
        if job["mode"] == "api_enqueue":
            continue
        body = plistlib.dumps({"Status": "Idle", "UDID": udid})
        while True:
            began = time.perf_counter()
            status, answer = client.put("/mdm/connect", body, signer.headers(body, "command"))
            latencies.append(time.perf_counter() - began)
            done["requests"] += 1
            if status != 200:
                done["errors"] += 1
                break
            if not answer:
                break
            command = plistlib.loads(answer)
            done["commands"] += 1
            reply = {"Status": "Acknowledged", "UDID": udid, "CommandUUID": command["CommandUUID"]}
            if command["Command"]["RequestType"] == "DeviceInformation":
                reply["QueryResponses"] = _QUERY_RESPONSES
            body = plistlib.dumps(reply)


# --- phases -----------------------------------------------------------------------------------

_PHASES = itertools.count()


def enrol(stack: Stack, count: int, processes: int) -> list[Identity]:
    jobs = [(stack.base_url, stack.enrollment_url, stack.trust_files)] * count
    with multiprocessing.Pool(processes) as pool:
        return pool.map(_enrol_one, jobs, chunksize=4)


def load(stack: Stack, identities: list[Identity], *, mode: str, seconds: float, clients: int, connections: int,
         api: dict | None = None) -> dict:
    """``api``: for the API phases, the token and each UDID's device id."""
    api = api or {}
    serialised = [{"udid": i.udid, "cert": i.cert_pem.decode(), "key": i.key_pem.decode(),
                   "device_id": api.get("device_ids", {}).get(i.udid)} for i in identities]
    start_at = time.time() + 3  # let every client process load its keys first
    clock_start = start_at + next(_PHASES) * 86400  # the iPads' simulated signing clocks (see TemplateSigner)
    jobs = [
        {"base_url": stack.base_url, "trust": stack.trust_files, "identities": serialised[i::clients], "mode": mode,
         "seconds": seconds, "start_at": start_at, "connections": connections, "clock_start": clock_start,
         "token": api.get("token")}
        for i in range(clients)
    ]
    pids = stack.server_pids()
    profilers = []
    with multiprocessing.Pool(clients) as pool:
        pending = pool.map_async(_load_worker, jobs)
        while time.time() < start_at:
            time.sleep(0.01)
        if stack.args.profile:  # py-spy samples each worker for the phase (collapsed stacks, one file per worker)
            folder = Path(stack.args.profile)
            folder.mkdir(parents=True, exist_ok=True)
            for pid in pids[1:]:
                profilers.append(subprocess.Popen(
                    [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid), "--rate", "200",
                     "--duration", str(int(seconds)), "--format", "raw", "--nonblocking", "--gil",
                     "--output", str(folder / f"{mode}-{pid}.txt")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        cpu_before, wall_before = cpu_seconds(pids), time.monotonic()
        results = pending.get()
        cpu_after, wall_after = cpu_seconds(pids), time.monotonic()
        rss = rss_mb(pids)
    for profiler in profilers:
        profiler.wait()
    latencies = sorted(value for result in results for value in result["latencies"])
    requests = sum(result["requests"] for result in results)
    commands = sum(result["commands"] for result in results)
    wall = wall_after - wall_before
    api_requests = sum(result.get("api", 0) for result in results)
    api_figures = {}
    if api_requests:
        server_ms = (cpu_after - cpu_before) * 1000
        api_figures = {"api_requests": api_requests, "api_requests_per_s": round(api_requests / wall, 1),
                       "server_cpu_ms_per_api_request" if mode == "api_enqueue" else
                       "server_cpu_ms_per_round_trip": round(server_ms / api_requests, 2)}
    return {
        **api_figures,
        "mode": mode,
        "seconds": round(wall, 1),
        "requests": requests,
        "requests_per_s": round(requests / wall, 1),
        "commands": commands,
        "round_trips_per_s": round(commands / wall, 1),
        "errors": sum(result["errors"] for result in results),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1) if latencies else None,
        "server_cpu_cores": round((cpu_after - cpu_before) / wall, 2),
        "server_cpu_ms_per_request": round((cpu_after - cpu_before) / max(requests, 1) * 1000, 2),
        "client_cpu_ms_per_request": round(sum(result["cpu"] for result in results) / max(requests, 1) * 1000, 2),
        "server_rss_mb": {"total": round(sum(rss)), "per_process": [round(size) for size in rss]},
    }


def _database(stack: Stack):
    os.environ.update({key: value for key, value in stack.env.items() if key.startswith("FLOKK_")})
    from app.config import load_settings
    from app.db import Database

    return Database(load_settings())


def _school_devices(session, code: str) -> list[int]:
    from sqlalchemy import select

    from app.models import Device
    from app.models.tenancy import School

    school_id = session.scalar(select(School.id).where(School.code == code))
    return list(session.scalars(select(Device.id).where(Device.school_id == school_id).order_by(Device.id)))


def queue_for_everyone(stack: Stack, per_device: int) -> None:
    """Queue ``per_device`` DeviceInformation commands for every bench iPad (not pushed: the load generator
    plays devices that are connecting anyway)."""
    from app.services.access import cli_principal
    from app.services.mdm import commands
    from mdm_protocol import commands as mdm_commands

    database = _database(stack)
    with database.unit_of_work() as session:
        device_ids = _school_devices(session, "bench")
        for _ in range(per_device):
            commands.enqueue(session, cli_principal(), device_ids, "DeviceInformation",
                             {"Queries": list(mdm_commands.DEFAULT_DEVICE_QUERIES)})
    database.dispose()


def api_setup(stack: Stack) -> dict:
    """An API token (central admin) and the bench iPads' device ids, for the API phases."""
    from sqlalchemy import select

    from app.models import Device

    created = stack.flokk("token", "create", "bench-api", "--role", "central_admin", "--expires", "1d")
    token = re.search(r"Token:\s+(\S+)", created).group(1)
    database = _database(stack)
    with database.unit_of_work() as session:
        device_ids = {udid: device_id for udid, device_id in session.execute(select(Device.udid, Device.id))}
    database.dispose()
    return {"token": token, "device_ids": device_ids}


def cancel_queued(stack: Stack) -> int:
    """Cancel what the enqueue-only phase left queued, so the next phase starts with empty queues."""
    from sqlalchemy import update

    from app.models.commands import Command, CommandStatus

    database = _database(stack)
    with database.unit_of_work() as session:
        cancelled = session.execute(update(Command).where(Command.status == CommandStatus.QUEUED)
                                    .values(status=CommandStatus.CANCELLED)).rowcount
    database.dispose()
    return cancelled


def api_batch(stack: Stack, api: dict, count: int, rounds: int) -> dict:
    """``POST /api/v1/commands`` with ``count`` device ids, ``rounds`` times: server CPU per device,
    including the push of every device that follows the response (waited for at the fake APNs)."""
    from sqlalchemy import insert, select

    from app.models import Device
    from app.models.tenancy import School

    database = _database(stack)
    with database.unit_of_work() as session:
        school_id = session.scalar(select(School.id).where(School.code == "batch"))
        session.execute(insert(Device), [
            {"school_id": school_id, "platform": "ipados", "udid": f"BATCH{n:035d}", "serial_number": f"C{n:09d}",
             "enrollment_state": "enrolled", "push_token": os.urandom(32).hex(), "push_magic": f"MAGIC-{n}",
             "push_topic": "bench", "push_attempts": 0, "inventory": {}}
            for n in range(count)
        ])
        device_ids = list(session.scalars(select(Device.id).where(Device.school_id == school_id).order_by(Device.id)))
    database.dispose()
    client = Client(stack.base_url, stack.trust())
    headers = {"Authorization": f"Bearer {api['token']}", "Content-Type": "application/json"}
    payload = json.loads(_API_COMMAND)
    payload["device_ids"] = device_ids
    body = json.dumps(payload).encode()
    pids = stack.server_pids()
    timings, cpus = [], []
    for _ in range(rounds):
        already = int(stack.apns_count_file.read_text() or 0) if stack.apns_count_file.exists() else 0
        cpu0, wall0 = cpu_seconds(pids), time.monotonic()
        status, answer = client.request("POST", "/api/v1/commands", body, headers)
        timings.append(time.monotonic() - wall0)
        assert status == 201, (status, answer[:300])
        _wait_for(lambda: int(stack.apns_count_file.read_text() or 0) - already >= count, "the batch's pushes", 60)
        time.sleep(0.2)  # let the worker finish recording the push outcomes
        cpus.append(cpu_seconds(pids) - cpu0)
    return {
        "devices": count,
        "rounds": rounds,
        "response_s": [round(value, 3) for value in timings],
        "server_cpu_s_incl_push": [round(value, 3) for value in cpus],
        "server_cpu_ms_per_device_incl_push": round(statistics.median(cpus) / count * 1000, 3),
    }


def bulk_push(stack: Stack, count: int) -> dict:
    """Queue one command for ``count`` devices and push them all.

    This is what happens once a bulk command is approved (or `flokk command
    send school:CODE` below the approval threshold): the enqueue in one unit
    of work, then the push of every device after its commit.
    """
    from sqlalchemy import insert, select

    from app.models import Device
    from app.models.tenancy import School
    from app.services.access import cli_principal
    from app.services.mdm import commands, push
    from mdm_protocol import commands as mdm_commands

    database = _database(stack)
    with database.unit_of_work() as session:
        school_id = session.scalar(select(School.id).where(School.code == "bulk"))
        rows = [
            {"school_id": school_id, "platform": "ipados", "udid": f"BULK{n:036d}", "serial_number": f"B{n:09d}",
             "enrollment_state": "enrolled", "push_token": os.urandom(32).hex(), "push_magic": f"MAGIC-{n}",
             "push_topic": "bench", "push_attempts": 0, "inventory": {}}
            for n in range(count)
        ]
        for start in range(0, count, 5000):
            session.execute(insert(Device), rows[start : start + 5000])
    already = int(stack.apns_count_file.read_text() or 0) if stack.apns_count_file.exists() else 0
    cpu0, wall0 = time.process_time(), time.monotonic()
    with database.unit_of_work() as session:
        device_ids = _school_devices(session, "bulk")
        queued = commands.enqueue(session, cli_principal(), device_ids, "DeviceInformation",
                                  {"Queries": list(mdm_commands.DEFAULT_DEVICE_QUERIES)})
        push.take_wakes(session)  # pushed below, timed on their own
    enqueue_s = time.monotonic() - wall0
    enqueue_cpu = time.process_time() - cpu0
    apns_pid = stack.apns.pid
    apns_cpu0 = cpu_seconds([apns_pid])
    wall1, cpu1 = time.monotonic(), time.process_time()
    with database.unit_of_work() as session:
        report = push.wake(session, list(queued.command_uuids))
    push_s = time.monotonic() - wall1
    push_cpu = time.process_time() - cpu1
    _wait_for(lambda: int(stack.apns_count_file.read_text() or 0) - already >= count, "the fake APNs count", 60)
    database.dispose()
    return {
        "devices": len(queued),
        "enqueue_s": round(enqueue_s, 2),
        "enqueue_cpu_s": round(enqueue_cpu, 2),
        "push_s": round(push_s, 2),
        "push_cpu_s (Flokk side)": round(push_cpu, 2),
        "fake_apns_cpu_s": round(cpu_seconds([apns_pid]) - apns_cpu0, 2),
        "pushes_per_s": round(count / push_s),
        "outcomes": dict(report.outcomes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=os.environ.get("FLOKK_BENCH_DATABASE", DEFAULT_DATABASE))
    parser.add_argument("--devices", type=int, default=200, help="simulated iPads enrolled by SCEP")
    parser.add_argument("--seconds", type=float, default=20, help="length of each load phase")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections per client process")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--commands", type=int, default=20, help="commands queued per iPad for (b)")
    parser.add_argument("--push-devices", type=int, default=50_000)
    parser.add_argument("--profile", default="", help="a folder: py-spy samples the workers in each load phase")
    parser.add_argument("--batch-devices", type=int, default=1000, help="devices in one API request for (f)")
    parser.add_argument("--skip", default="", help="comma-separated phases to skip: idle,roundtrip,api,push")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    stack = Stack(args)
    results: dict = {"machine": {"cpus": os.cpu_count()}, "settings": vars(args)}
    try:
        stack.start()
        began = time.monotonic()
        identities = enrol(stack, args.devices, processes=2)
        results["enrol"] = {"devices": len(identities), "seconds": round(time.monotonic() - began, 1)}
        print(json.dumps(results["enrol"]), flush=True)
        # drain the initial inventory (4 commands each), unmeasured, so the queues start empty
        load(stack, identities, mode="roundtrip", seconds=max(5, args.devices / 40), clients=args.clients,
             connections=args.connections)
        if "idle" not in skip:
            results["a_idle"] = load(stack, identities, mode="idle", seconds=args.seconds, clients=args.clients,
                                     connections=args.connections)
            print(json.dumps(results["a_idle"]), flush=True)
        if "roundtrip" not in skip:
            queue_for_everyone(stack, args.commands)
            results["b_roundtrip"] = load(stack, identities, mode="roundtrip", seconds=args.seconds,
                                          clients=args.clients, connections=args.connections)
            print(json.dumps(results["b_roundtrip"]), flush=True)
        if "api" not in skip:
            api = api_setup(stack)
            results["d_api_enqueue"] = load(stack, identities, mode="api_enqueue", seconds=args.seconds,
                                            clients=args.clients, connections=args.connections, api=api)
            print(json.dumps(results["d_api_enqueue"]), flush=True)
            cancel_queued(stack)
            results["e_api_roundtrip"] = load(stack, identities, mode="api_roundtrip", seconds=args.seconds,
                                              clients=args.clients, connections=args.connections, api=api)
            print(json.dumps(results["e_api_roundtrip"]), flush=True)
            results["f_api_batch"] = api_batch(stack, api, args.batch_devices, rounds=5)
            print(json.dumps(results["f_api_batch"]), flush=True)
        if "push" not in skip:
            results["c_push"] = bulk_push(stack, args.push_devices)
            print(json.dumps(results["c_push"]), flush=True)
    finally:
        stack.stop()
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
