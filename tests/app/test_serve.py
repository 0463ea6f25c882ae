"""`flokk serve` as a user runs it: gunicorn, TLS with a generated certificate, /healthz."""

import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import json

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def flokk(*args, env):
    return [sys.executable, "-m", "app.cli", *args]


@pytest.fixture
def server(environment, db):
    env = {**os.environ, **environment}
    env.pop("FLOKK_SECRET_KEY")  # as on a fresh machine: generated into the data folder
    subprocess.run(flokk("init", env=env), env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    process = subprocess.Popen(
        flokk("serve", "--bind", f"127.0.0.1:{port}", "--workers", "2", env=env),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield port, environment["FLOKK_DATA_DIR"]
    process.terminate()
    process.wait(timeout=30)


def test_serve_answers_healthz_over_tls_with_the_generated_certificate(server):
    port, data_dir = server
    deadline = time.monotonic() + 60
    while True:
        try:
            context = ssl.create_default_context(cafile=os.path.join(data_dir, "tls", "server.crt"))
            with urllib.request.urlopen(f"https://localhost:{port}/healthz", context=context, timeout=5) as response:
                assert response.status == 200
                assert json.loads(response.read())["database"] == "ok"
                break
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    with open(os.path.join(data_dir, "secret_key")) as handle:
        assert len(handle.read().strip()) >= 32


def test_serve_refuses_an_unmigrated_database(environment, tmp_path):
    env = {**os.environ, **environment, "FLOKK_DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}"}
    result = subprocess.run(flokk("serve", env=env), env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "run `flokk init`" in result.stderr
