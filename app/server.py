"""`flokk serve`: gunicorn with Flokk's settings, TLS on by default.

Each worker builds its own app (no preload), so no database connection or
thread crosses a fork. The worker is gunicorn's threaded worker with read
deadlines, read-ahead and app slots (``app.server_worker``): ``threads``
requests run at once per worker while more threads wait for slow clients,
each for a bounded time. Idle keep-alive connections wait without a thread
for ``KEEPALIVE_SECONDS``. gunicorn's control socket is off: nothing manages a
Flokk through it, and several servers on one host would share its path.
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
from app.server_worker import READERS_PER_SLOT

#: How long an idle keep-alive connection stays open. Behind a proxy that keeps
#: connections to Flokk open, set the proxy's idle timeout below this.
KEEPALIVE_SECONDS = 15


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
        from app.services.mdm import push

        app = create_app(self.settings)
        # Each worker pushes from a thread of its own (started at its first push, after the fork).
        flokk = app.extensions["flokk"]
        flokk.pusher = push.BackgroundPusher(flokk.db)
        return app


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
        # ``threads`` requests run at once per worker; more threads read slow clients' requests meanwhile.
        "threads": threads * READERS_PER_SLOT,
        "worker_class": "app.server_worker.FlokkWorker",
        "certfile": certfile,
        "keyfile": keyfile,
        "timeout": 60,
        "graceful_timeout": 20,
        "keepalive": KEEPALIVE_SECONDS,
        "control_socket_disable": True,
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
