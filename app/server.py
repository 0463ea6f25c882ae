"""`flokk serve`: gunicorn with Flokk's settings, TLS on by default.

Each worker builds its own app (no preload), so no database connection or
thread crosses a fork.
"""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
from typing import Any

from gunicorn.app.base import BaseApplication

from app import metrics
from app.config import Settings
from app.logs import dict_config


def default_workers() -> int:
    """One worker per core (at least 2, so one can restart while the other serves), at most 8.

    The MDM path is CPU-bound (a signature check per message): on 2 cores, 2
    workers × 4 threads served 414 Idle check-ins/s at 3.6 ms CPU each and 5
    workers 330/s at 4.7 ms, with twice the memory (bench/mdm/README.md).
    """
    return min(max(multiprocessing.cpu_count(), 2), 8)


class FlokkServer(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self):
        from app import create_app

        return create_app(self.settings)


def serve(
    settings: Settings,
    *,
    bind: str,
    workers: int,
    threads: int,
    certfile: str | None,
    keyfile: str | None,
) -> None:
    options: dict[str, Any] = {
        "bind": [bind],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "certfile": certfile,
        "keyfile": keyfile,
        "timeout": 60,
        "graceful_timeout": 20,
        "keepalive": 75,
        "accesslog": None,  # Flokk logs each request itself, with its request id
        "proc_name": "flokk",
        "logconfig_dict": dict_config(settings.log_format, settings.log_level),
        "limit_request_line": 8190,
        "child_exit": lambda server, worker: metrics.mark_worker_dead(worker.pid),
    }
    # The workers' counters meet in a fresh folder of this server's own (app/metrics.py).
    folder = tempfile.mkdtemp(prefix="flokk-metrics-")
    metrics.use_multiprocess_dir(folder)
    try:
        FlokkServer(settings, options).run()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
