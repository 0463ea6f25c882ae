"""Reading a raw request body: bounded in size, and every failure a clear 4xx.

``read_body`` is how the device endpoints (MDM, SCEP) take their body: at most
``limit`` bytes (413 above, from the declared length or while reading), 408
when the client stops sending (the server's read deadlines,
``app/server_worker.py``), 400 when the chunked encoding is broken or the
connection breaks. Whatever the server raises while reading is the client's
doing; none of it is a 500. (What a view leaves unread, the server reads and
drops before it closes, so an early 413 or 401 reaches the client.)
"""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.exceptions import HTTPException

from app.errors import FlokkError

_CHUNK = 64 * 1024


class BodyTooLarge(FlokkError):
    status = 413
    code = "body_too_large"


class BodyTimeout(FlokkError):
    status = 408
    code = "request_timeout"


class MalformedBody(FlokkError):
    status = 400
    code = "malformed_body"


def read_body(limit: int) -> bytes:
    """The request's body, at most ``limit`` bytes."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyTooLarge(f"body of {declared} bytes is over the limit of {limit} bytes")
    stream = request.environ["wsgi.input"]
    wanted = declared if declared is not None else limit + 1
    parts: list[bytes] = []
    size = 0
    while size < wanted:
        chunk = _read(stream, min(_CHUNK, wanted - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    if size > limit:
        raise BodyTooLarge(f"body is over the limit of {limit} bytes")
    if declared is not None and size < declared:
        raise MalformedBody(f"the body ended after {size} of the {declared} bytes announced")
    return b"".join(parts)


def _read(stream: Any, size: int) -> bytes:
    try:
        return stream.read(size)
    except TimeoutError:
        raise BodyTimeout("the request body did not arrive in time") from None
    except (OSError, HTTPException):
        raise MalformedBody("the connection broke while the body was read") from None
    except Exception:  # noqa: BLE001 - the WSGI server's own errors: a broken chunked encoding
        raise MalformedBody("the body's transfer encoding is broken (invalid chunked encoding)") from None
