"""`flokk run` (what `make run` starts): web server and scheduler together, the address and how to
sign in printed, Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request

from tests.app.test_serve import free_port


def test_run_starts_both_says_where_and_stops_both_on_ctrl_c(environment, db):
    env = {**os.environ, **environment, "FLOKK_LOG_FORMAT": "text"}
    subprocess.run([sys.executable, "-m", "app.cli", "init", "--admin-email", "it@bergvik.test"], env=env, check=True,
                   capture_output=True, timeout=120)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "run", "--bind", f"127.0.0.1:{port}"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while not ("scheduler started" in "".join(lines) and any("Flokk is running at" in line for line in lines)):
            assert time.monotonic() < deadline and process.poll() is None, "".join(lines)
            time.sleep(0.2)
        output = "".join(lines)
        assert f"Flokk is running at https://localhost:{port}" in output
        assert "Sign in as it@bergvik.test" in output and ".venv/bin/flokk" in output
        unverified = ssl._create_unverified_context()  # noqa: SLF001 - the trial's self-signed certificate
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=unverified, timeout=10) as answer:
            assert answer.status == 200
        children = _children(process.pid)
        assert len(children) == 2
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal reaches the whole process group
        assert process.wait(timeout=60) == 0
        for pid in children:
            assert not _alive(pid), f"process {pid} still runs after Ctrl-C"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(item) for item in handle.read().split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
