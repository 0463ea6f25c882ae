"""The gunicorn worker `flokk serve` runs: gthread, where a slow client cannot hold up the others.

gunicorn's threaded worker gives each connection a thread while it reads the
request and runs the app; its reads have no timeout. A client that starts a
TLS handshake, a request head or a body and then stops (or sends a byte
every few seconds: "slowloris") kept a thread for ever, and with 2 workers
× 4 threads a handful of them stopped /healthz and every new handshake.
This worker changes three things:

1. **Deadlines on every read**, as Apache's mod_reqtimeout sets them: a read
   waits ``READ_TIMEOUT`` at most (the TLS handshake ``READ_TIMEOUT`` in
   total); the request head must be in within ``HEAD_TIMEOUT``; the body
   within ``BODY_TIMEOUT`` plus a second per ``BODY_MIN_RATE`` bytes
   received (a large body on a slow line is fine, a trickle is not). A late
   head closes the connection at once; a late body makes the app answer 408.
2. **Reading before running.** The pool has ``READERS_PER_SLOT`` threads for
   each request the worker runs at once (``threads // READERS_PER_SLOT``
   "app slots", `flokk serve --threads`). A thread reads the whole body
   (up to the app's ``MAX_CONTENT_LENGTH``) before it takes a slot, so the
   CPU-bound work (a signature check per MDM message) runs as many at once as
   before, and slow clients only ever hold reading threads, each for a
   bounded time.
3. **Finishing the body before the answer counts.** What the app left unread
   (a 413 decided from ``Content-Length``, a 401 before the body was looked
   at) is read and dropped after the answer, outside the slot, up to
   ``DRAIN_MAX_BYTES`` in ``DRAIN_SECONDS``: a client sends its whole body
   before it reads the answer, and closing on unread bytes resets the
   connection under it, so it would never see the 413.

gunicorn closes a finished connection "gracefully" (half-close, then up to
2 s of reading) in its main loop, the one that accepts and dispatches, so a
stalled client cost that loop 2 s each time: here the thread closes its own
connection, and a late client's at once.
"""

from __future__ import annotations

import errno
import io
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.http.errors import NoMoreData
from gunicorn.workers import gthread
from gunicorn.workers.gthread import TConn, ThreadWorker

READ_TIMEOUT = 10.0
HEAD_TIMEOUT = 15.0
BODY_TIMEOUT = 15.0
BODY_MIN_RATE = 32 * 1024
#: Reading threads per app slot: how many slow clients a worker can wait for at once.
READERS_PER_SLOT = 8
#: How long a new connection may hold a thread before its first byte (then it waits in the poller).
FIRST_BYTE_WAIT = 0.5
DRAIN_MAX_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 10.0
_CHUNK = 64 * 1024


class _Deadline:
    """The connection's socket as gunicorn's parser reads it, each ``recv`` bounded by a deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.deadline = time.monotonic() + HEAD_TIMEOUT
        self.rate: float | None = None  # bytes per second that extend the deadline (the body)
        self.late = False

    def head(self) -> None:
        self.deadline, self.rate = time.monotonic() + HEAD_TIMEOUT, None

    def body(self) -> None:
        self.deadline, self.rate = time.monotonic() + BODY_TIMEOUT, BODY_MIN_RATE

    def recv(self, size: int) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self._late()
        self.sock.settimeout(min(READ_TIMEOUT, remaining))
        try:
            data = self.sock.recv(size)
        except TimeoutError:
            raise self._late() from None
        if self.rate:
            self.deadline += len(data) / self.rate
        return data

    def _late(self) -> Exception:
        self.late = True
        if self.rate is None:  # the head: gunicorn closes the connection quietly, as for a client gone
            return NoMoreData(b"")
        return TimeoutError("the request body did not arrive in time")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


class _TimedSocket(socket.socket):
    """A client socket for which "blocking" means blocking for ``READ_TIMEOUT`` at most.

    gunicorn makes the socket blocking right before the TLS handshake; this is
    what bounds the handshake (CPython takes the timeout as its total time).
    """

    __slots__ = ()

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(READ_TIMEOUT)
        else:
            super().setblocking(False)


class _Connection(TConn):
    """A connection whose reads run under :class:`_Deadline`, closed once."""

    deadline: _Deadline | None = None
    late = False
    closed = False

    def init(self) -> None:
        # gunicorn calls init() before every request on the connection, after making the socket blocking.
        try:
            super().init()
        except TimeoutError:  # the TLS handshake stalled
            self.late = True
            raise NoMoreData(b"") from None
        self.sock.settimeout(READ_TIMEOUT)
        if self.is_http2:
            return
        if self.deadline is None:
            self.deadline = _Deadline(self.sock)
            self.parser.unreader.sock = self.deadline
        self.deadline.head()

    def close(self, graceful: bool = False) -> None:
        """Close once; a late client gets no graceful lingering."""
        if self.closed:
            return
        self.closed = True
        late = self.late or (self.deadline is not None and self.deadline.late)
        super().close(graceful=graceful and not late)


class _ReadAhead:
    """A request body read before the app runs: up to ``limit`` bytes now, any rest from the socket.

    An error while reading (too slow, a broken chunked encoding, the client
    gone) is raised when the app reads, so the app says what went wrong.
    """

    def __init__(self, body: Any, limit: int) -> None:
        self.body = body
        self.error: Exception | None = None
        self.buffer = io.BytesIO()
        try:
            self.buffer.write(body.read(limit))
        except Exception as error:  # noqa: BLE001 - handed to the app at its first read
            self.error = error
        self.buffer.seek(0)

    def read(self, size: int | None = None) -> bytes:
        if self.error is not None:
            raise self.error
        if size is None or size < 0:
            return self.buffer.read() + self.body.read()
        data = self.buffer.read(size)
        return data if len(data) == size else data + self.body.read(size - len(data))

    def readline(self, size: int | None = None) -> bytes:
        if self.error is not None:
            raise self.error
        line = self.buffer.readline(-1 if size is None else size)
        if line.endswith(b"\n") or (size is not None and 0 <= size == len(line)):
            return line
        return line + self.body.readline(None if size is None or size < 0 else size - len(line))

    def readlines(self, hint: int | None = None) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


class _Admission:
    """Around the app: read the body, take an app slot, run the app, drain what is left."""

    def __init__(self, app: Callable[..., Iterable[bytes]], slots: int) -> None:
        self.app = app
        self.slots = threading.BoundedSemaphore(slots)
        config = getattr(app, "config", None) or {}
        self.body_limit = config.get("MAX_CONTENT_LENGTH") or 4 * 1024 * 1024

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = environ["wsgi.input"]
        declared = environ.get("CONTENT_LENGTH") or ""
        if not (declared.isdigit() and int(declared) > self.body_limit):  # over it: the app refuses unread
            environ["wsgi.input"] = _ReadAhead(body, self.body_limit + 1)
        with self.slots:
            answer = self.app(environ, start_response)
        if declared.isdigit() and int(declared) > DRAIN_MAX_BYTES:
            return answer  # too much to read: the client will see the connection close
        drain(body)
        return answer


def drain(body: Any) -> bool:
    """Read and drop what is left of a body; False when it was too much or too slow."""
    deadline = time.monotonic() + DRAIN_SECONDS
    drained = 0
    while drained <= DRAIN_MAX_BYTES and time.monotonic() < deadline:
        try:
            chunk = body.read(_CHUNK)
        except Exception:  # noqa: BLE001 - stalled or broken: the connection is closed after the answer
            return False
        if not chunk:
            return True
        drained += len(chunk)
    return False


class FlokkWorker(ThreadWorker):
    """gunicorn's gthread worker with read deadlines, app slots and body draining (see the module)."""

    def init_process(self) -> None:
        # gunicorn waits in a pool thread for a new connection's first byte; a few idle
        # connections would hold every thread. Wait briefly, then let the poller wait.
        gthread.DEFAULT_WORKER_DATA_TIMEOUT = FIRST_BYTE_WAIT
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = _Admission(self.wsgi, slots=max(1, self.cfg.threads // READERS_PER_SLOT))

    def accept(self, listener: socket.socket) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        timed = _TimedSocket(client_sock.family, client_sock.type, client_sock.proto, fileno=client_sock.detach())
        timed.setblocking(True)
        self.enqueue_req(_Connection(self.cfg, timed, client_addr, listener.getsockname()))

    def handle(self, conn: Any) -> Any:
        keep = super().handle(conn)
        if keep is False:  # done with it: close here, not in the main loop (which then finds it closed)
            conn.close(graceful=True)
        return keep

    def handle_request(self, req: Any, conn: Any) -> bool:
        if isinstance(conn, _Connection) and conn.deadline is not None:
            conn.deadline.body()  # the head is in; the body is read under the body's deadline
        return super().handle_request(req, conn)
