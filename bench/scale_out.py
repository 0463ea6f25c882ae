"""Scale-out proof: two `flokk serve` nodes and one `flokk scheduler` on one PostgreSQL, iPads spread
over both nodes, one node killed (SIGKILL, master and workers) in the middle of the load.

What it shows: web nodes keep no state of their own. Each simulated iPad (own identity by SCEP, a
fresh Mdm-Signature on every body) talks to its home node; when that node is gone it sends the
same request again to the other node, as an iPad behind a load balancer would. At the end every
command queued must be acknowledged, and Flokk must have recorded each acknowledgement exactly once
(one `command.result` in the audit log per command), however often the wire carried it.

Usage: python bench/scale_out.py [--devices 60] [--commands 10] [--kill-at 0.3] [--database postgresql://...]
Prints one JSON document; exits 1 when a command was lost or recorded twice.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import multiprocessing
import os
import plistlib
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("mdm_bench", ROOT / "bench" / "mdm" / "run.py")
mdm_bench = importlib.util.module_from_spec(_spec)
sys.modules["mdm_bench"] = mdm_bench  # its dataclasses and pickled functions look themselves up by name
_spec.loader.exec_module(mdm_bench)


class TwoNodes(mdm_bench.Stack):
    """The MDM bench's stack with a second node (its own process group, to be killed whole) and a scheduler."""

    def start(self) -> None:
        super().start()  # PostgreSQL schema, fake APNs, init, push certificate, school, node A
        self.server.terminate()  # node A again, in a process group of its own
        self.server.wait(timeout=30)
        self.processes.remove(self.server)
        self.ports = {"A": self.port, "B": mdm_bench.free_port()}
        self.nodes: dict[str, subprocess.Popen] = {}
        for name, port in self.ports.items():
            self.nodes[name] = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                 "--threads", "4"],
                cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            self.processes.append(self.nodes[name])
            mdm_bench._wait_for(lambda port=port: self._answers(port), f"node {name}")
        self.scheduler = subprocess.Popen([sys.executable, "-m", "app.cli", "scheduler"], cwd=ROOT, env=self.env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(self.scheduler)

    def url(self, node: str) -> str:
        return f"https://localhost:{self.ports[node]}"

    def _answers(self, port: int) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"https://localhost:{port}/healthz", context=self.trust(), timeout=5):
                return True
        except OSError:
            return False

    def kill(self, node: str) -> None:
        os.killpg(self.nodes[node].pid, signal.SIGKILL)
        self.nodes[node].wait()
        self.processes.remove(self.nodes[node])


def enrol_over_both(stack: TwoNodes, count: int) -> list[tuple[mdm_bench.Identity, str]]:
    """Half the iPads enrol through each node (profile, SCEP, Authenticate, TokenUpdate)."""
    jobs = [(stack.url("AB"[i % 2]), stack.enrollment_url.replace(stack.base_url, stack.url("AB"[i % 2])), stack.trust_files)
            for i in range(count)]
    with multiprocessing.Pool(2) as pool:
        identities = pool.map(mdm_bench._enrol_one, jobs, chunksize=2)
    return [(identity, "AB"[i % 2]) for i, identity in enumerate(identities)]


def queue_commands(stack: TwoNodes, udids: list[str], per_device: int) -> list[str]:
    from sqlalchemy import select

    from app.models import Device
    from app.services.access import cli_principal
    from app.services.mdm import commands

    db = mdm_bench._database(stack)
    with db.unit_of_work() as session:
        device_ids = list(session.scalars(select(Device.id).where(Device.udid.in_(udids))))
        uuids = []
        for _ in range(per_device):
            uuids.extend(commands.enqueue(session, cli_principal(), device_ids, "ProfileList").command_uuids.values())
    db.dispose()
    return uuids


class Load:
    """Each thread drives its share of iPads until every queue is empty; a dead node means failing over."""

    def __init__(self, stack: TwoNodes, ipads: list[tuple[mdm_bench.Identity, str]], threads: int) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        self.stack, self.threads = stack, threads
        self.ipads = [
            (identity.udid, home, mdm_bench.TemplateSigner(x509.load_pem_x509_certificate(identity.cert_pem),
                                                           serialization.load_pem_private_key(identity.key_pem, None)))
            for identity, home in ipads
        ]
        self.lock = threading.Lock()
        self.handed_out: Counter[str] = Counter()
        self.acknowledged: Counter[str] = Counter()
        self.requests = self.failovers = self.errors = self.resent = 0
        self.dead: set[str] = set()

    def run(self) -> None:
        shares = [self.ipads[i :: self.threads] for i in range(self.threads)]
        workers = [threading.Thread(target=self._drive, args=(share,)) for share in shares]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def _drive(self, share) -> None:
        clients = {node: mdm_bench.Client(self.stack.url(node), self.stack.trust()) for node in ("A", "B")}
        for udid, home, signer in share:
            node, empty = home, 0
            while empty < 2:  # an empty answer twice: this iPad's queue is drained
                body = plistlib.dumps({"Status": "Idle", "UDID": udid})
                while True:
                    node, status, answer = self._send(clients, node, body, signer)
                    if status != 200:
                        with self.lock:
                            self.errors += 1
                        break
                    if not answer:
                        empty += 1
                        break
                    empty = 0
                    uuid = plistlib.loads(answer)["CommandUUID"]
                    with self.lock:
                        self.handed_out[uuid] += 1
                    body = plistlib.dumps({"Status": "Acknowledged", "UDID": udid, "CommandUUID": uuid})
                    with self.lock:
                        self.acknowledged[uuid] += 1

    def _send(self, clients, node: str, body: bytes, signer) -> tuple[str, int, bytes]:
        """Send to ``node``; when it is gone, send the same request to the other one."""
        for attempt in range(2):
            if node in self.dead:
                node = "B" if node == "A" else "A"
            if attempt:
                with self.lock:
                    self.resent += 1
            try:
                status, answer = clients[node].put("/mdm/connect", body, signer.headers(body, "command"))
                with self.lock:
                    self.requests += 1
                return node, status, answer
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.failovers += 1
                    self.dead.add(node)
        raise SystemExit("both nodes are gone")


def verify(stack: TwoNodes, uuids: list[str]) -> dict:
    from sqlalchemy import func, select

    from app.models import AuditEvent, Command

    db = mdm_bench._database(stack)
    with db.session() as session:
        statuses = Counter(dict(session.execute(
            select(Command.status, func.count()).where(Command.uuid.in_(uuids)).group_by(Command.status)).all()))
        recorded = Counter(dict(session.execute(
            select(AuditEvent.target_id, func.count()).where(AuditEvent.action == "command.result",
                                                             AuditEvent.target_id.in_(uuids))
            .group_by(AuditEvent.target_id)).all()))
    db.dispose()
    return {
        "commands": len(uuids),
        "statuses": {str(status): count for status, count in statuses.items()},
        "recorded_once": sum(1 for uuid in uuids if recorded[uuid] == 1),
        "recorded_twice_or_more": sum(1 for uuid in uuids if recorded[uuid] > 1),
        "never_recorded": sum(1 for uuid in uuids if recorded[uuid] == 0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=os.environ.get("FLOKK_BENCH_DATABASE", mdm_bench.DEFAULT_DATABASE))
    parser.add_argument("--devices", type=int, default=60)
    parser.add_argument("--commands", type=int, default=10, help="commands queued per iPad")
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    parser.add_argument("--kill-at", type=float, default=0.3, help="kill node A when this share of commands is acknowledged")
    args = parser.parse_args()
    stack = TwoNodes(argparse.Namespace(database=args.database, workers=1, threads=4))
    result: dict = {"devices": args.devices, "commands_per_device": args.commands}
    try:
        stack.start()
        began = time.monotonic()
        ipads = enrol_over_both(stack, args.devices)
        result["enrol_seconds"] = round(time.monotonic() - began, 1)
        uuids = queue_commands(stack, [identity.udid for identity, _ in ipads], args.commands)
        load = Load(stack, ipads, args.threads)
        target = int(len(uuids) * args.kill_at)

        def killer() -> None:
            while sum(load.acknowledged.values()) < target:
                time.sleep(0.005)
            stack.kill("A")
            result["killed_node_A_after_acks"] = sum(load.acknowledged.values())

        threading.Thread(target=killer, daemon=True).start()
        began = time.monotonic()
        load.run()
        result.update(
            load_seconds=round(time.monotonic() - began, 1), requests=load.requests, failovers=load.failovers,
            errors=load.errors,
            # Of the commands queued here (the iPads' first inventory comes on top):
            handed_out=sum(1 for uuid in uuids if load.handed_out[uuid]),
            handed_out_more_than_once=sum(1 for uuid in uuids if load.handed_out[uuid] > 1),
            acknowledged_by_devices=sum(1 for uuid in uuids if load.acknowledged[uuid]),
            requests_sent_again_to_the_other_node=load.resent,
            node_a_alive=stack.nodes["A"].poll() is None,
        )
        result["flokk"] = verify(stack, uuids)
    finally:
        stack.stop()
    print(json.dumps(result, indent=2))
    database = result.get("flokk", {})
    ok = (database.get("recorded_once") == len(uuids) and database.get("statuses") == {"acknowledged": len(uuids)}
          and not result.get("node_a_alive", True))
    print("OK: every command delivered and acknowledged exactly once" if ok else "FAILED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
