"""Replay the captured device messages through the whole app and print what a device is answered.

Every check-in and command report captured from real devices
(``tests/fixtures/mdm-fixtures``) is sent, signed by a simulated iPad, through
Flokk's HTTP layer (in process, SQLite in a throw-away folder). A fresh iPad
enrols for each capture, fetches its first commands and answers each one with
the capture's body (its UDID and CommandUUID put in); check-in captures are
sent as they are (UDID put in). The output is one JSON line per request:
status, content type and body, with CommandUUIDs numbered in order of
appearance so two runs compare byte for byte. Run it on two trees and diff:

    python bench/mdm/replay.py > after.jsonl
    (cd ../before && python bench/mdm/replay.py) > before.jsonl
    diff before.jsonl after.jsonl
"""

from __future__ import annotations

import base64
import json
import os
import plistlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / "tests" / "fixtures" / "mdm-fixtures"
_REQUEST_ID = re.compile(rb"(request[:_]|request_id\":\")[0-9a-f]{32}")
_UUID = re.compile(rb"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def captures() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix not in (".plist", ".xml") or not path.is_file():
            continue
        try:
            message = plistlib.loads(path.read_bytes())
        except Exception:  # noqa: BLE001 - not a plist (a profile, a manifest)
            continue
        if isinstance(message, dict) and ("Status" in message or "MessageType" in message):
            found.append((str(path.relative_to(FIXTURES)), message))
    return found


def main() -> None:
    """``--postgres URL``: replay on a throw-away schema of that PostgreSQL database instead of SQLite."""
    folder = Path(tempfile.mkdtemp(prefix="flokk-replay-"))
    database = f"sqlite:///{folder}/flokk.sqlite3"
    schema = None
    if len(sys.argv) == 3 and sys.argv[1] == "--postgres":
        import psycopg

        schema = f"flokk_replay_{os.getpid()}"
        with psycopg.connect(sys.argv[2], autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {schema}")
        base = sys.argv[2].replace("postgresql://", "postgresql+psycopg://", 1)
        database = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    try:
        replay(folder, database)
    finally:
        if schema is not None:
            import psycopg

            with psycopg.connect(sys.argv[2], autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA {schema} CASCADE")


def replay(folder: Path, database: str) -> None:
    env = {**os.environ, "FLOKK_DATA_DIR": str(folder), "FLOKK_DATABASE_URL": database,
           "FLOKK_SECRET_KEY": "replay-" + "x" * 40, "FLOKK_PUBLIC_URL": "https://flokk.example",
           "FLOKK_LOG_LEVEL": "ERROR"}
    for args in (["init", "--organisation", "Replay"], ["school", "add", "Replay skole", "--code", "replay"]):
        subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, cwd=ROOT, check=True, capture_output=True)
    os.environ.update(env)

    from sqlalchemy import select

    from app import create_app
    from app.models.tenancy import School
    from app.services.pki import certificate_authority
    from tests.support.ipad import FlaskTransport, SimulatedIpad

    app = create_app()
    app.config["TESTING"] = True
    db = app.extensions["flokk"].db
    transport = FlaskTransport(app.test_client())
    with db.unit_of_work() as session:
        school_id = session.scalar(select(School.id).where(School.code == "replay"))
        authority = certificate_authority.load_ca(session)
    numbers: dict[bytes, int] = {}

    def show(name: str, step: str, answer) -> None:
        body = _UUID.sub(lambda m: b"UUID-%d" % numbers.setdefault(m.group(0).upper(), len(numbers)), answer.body)
        body = _REQUEST_ID.sub(rb"\1<request id>", body)  # random per request
        print(json.dumps({"capture": name, "step": step, "status": answer.status,
                          "body": base64.b64encode(body).decode() if body and not body.startswith(b"<?xml")
                          else body.decode()}))

    for number, (name, message) in enumerate(captures()):
        ipad = SimulatedIpad(udid=f"REPLAY-{number:04d}-0000-0000-000000000000")
        with db.unit_of_work() as session:
            ipad.issue_identity(session, school_id, authority=authority)
        show(name, "authenticate", ipad.checkin(transport, ipad.authenticate_message()))
        show(name, "token_update", ipad.checkin(transport, ipad.token_update_message()))
        if "MessageType" in message:
            replayed = {**message, "UDID": ipad.udid}
            replayed.pop("EnrollmentID", None)
            replayed.pop("EnrollmentUserID", None)
            show(name, "capture", ipad.checkin(transport, replayed))
            show(name, "idle", ipad.idle(transport))
            continue
        answer = ipad.idle(transport)
        show(name, "idle", answer)
        for _ in range(6):  # answer each delivered command with the capture
            if not answer.body:
                break
            command = plistlib.loads(answer.body)
            replayed = {**message, "UDID": ipad.udid, "CommandUUID": command["CommandUUID"]}
            answer = ipad.send(transport, plistlib.dumps(replayed))
            show(name, f"answer {command['Command']['RequestType']}", answer)
        show(name, "repeated", ipad.send(transport, plistlib.dumps(
            {**message, "UDID": ipad.udid, "CommandUUID": message.get("CommandUUID", "UNKNOWN")})))


if __name__ == "__main__":
    main()
