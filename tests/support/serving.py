"""Waiting for a `flokk serve` started by a test."""

from __future__ import annotations

import ssl
import subprocess
import time
import urllib.error
import urllib.request


def wait_until_serving(base_url: str, context: ssl.SSLContext, process: subprocess.Popen, *, seconds: float = 90) -> None:
    """Poll /healthz until the server answers; stop it and raise if it does not in time or exits."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", context=context, timeout=5):
                return
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline or process.poll() is not None:
                process.terminate()
                raise
            time.sleep(0.3)
