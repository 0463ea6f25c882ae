"""The request boundary: request ids, one unit of work per request, errors as clear 4xx
(problem documents, RFC 9457).

Views never commit: a response below 400 commits the request's session, any
other response or exception rolls it back (keeping durable audit events).
"""

from __future__ import annotations

import logging
import re
import time
from functools import partial
from http import HTTPStatus

from flask import Flask, Response, current_app, g, jsonify, request
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from app import db as database
from app import forwarding, metrics, request_context
from app.errors import FlokkError
from app.services.mdm import push

log = logging.getLogger("flokk.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HSTS_SECONDS = 365 * 24 * 3600


def install(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_close)
    app.register_error_handler(FlokkError, _flokk_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(IntegrityError, _integrity_error)
    app.register_error_handler(Exception, _unexpected_error)


def _start() -> None:
    offered = request.headers.get("X-Request-Id", "")
    request_id = offered if _REQUEST_ID.match(offered) else request_context.new_request_id()
    g.flokk_origin_token = request_context.set_origin(request_context.Origin(request_id, client_address()))
    g.flokk_started = time.perf_counter()


def _finish(response: Response) -> Response:
    session = g.pop("flokk_session", None)
    if session is not None:
        wakes = push.take_wakes(session)
        if response.status_code < 400:
            try:
                database.commit(session)
                if wakes:  # devices with new commands: pushed once committed, never on the request's path
                    flokk = current_app.extensions["flokk"]
                    if flokk.pusher is not None:
                        flokk.pusher.submit(wakes)
                    else:  # after the response is on its way, from this thread
                        response.call_on_close(partial(push.wake_committed, flokk.db, wakes,
                                                       limit=push.REQUEST_PUSH_LIMIT))
            except IntegrityError:
                database.rollback(session)
                log.info("conflicting concurrent change", exc_info=True)
                response = error_response(409, "conflict", "the change conflicts with another one; try again")
            except OperationalError:
                database.rollback(session)
                log.exception("database error at commit")
                response = error_response(503, "database_unavailable", "the database is unavailable; try again")
        else:
            database.rollback(session)
        session.close()
    response.headers["X-Request-Id"] = request_context.current().request_id or ""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if _is_https():
        # Browsers that reached Flokk over HTTPS once never try plain HTTP for a year.
        response.headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_SECONDS}")
    started = g.pop("flokk_started", None)
    if started is not None:
        metrics.count_request(request.blueprint, response.status_code, time.perf_counter() - started)
    if started is not None and log.isEnabledFor(logging.INFO):  # the access line costs nothing when not logged
        log.info(
            "%s %s %s",
            request.method,
            _path_for_log(),
            response.status_code,
            extra={"status": response.status_code, "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
        )
    return response


#: Route variables that carry a secret (the enrollment token in /enroll/<token>, the Apps and Books
#: notification nonce): never logged.
SECRET_VIEW_ARGS = frozenset({"token", "nonce"})


def client_address() -> str | None:
    """The client's address (``app.forwarding``: a trusted proxy's X-Forwarded-For, else the peer)."""
    return forwarding.client_address(request.remote_addr, request.headers.getlist("X-Forwarded-For"),
                                     current_app.extensions["flokk"].settings.trusted_proxies)


def _is_https() -> bool:
    return forwarding.is_https(request.scheme, request.remote_addr, request.headers.get("X-Forwarded-Proto"),
                               current_app.extensions["flokk"].settings.trusted_proxies)


def _path_for_log() -> str:
    path = request.path
    for name, value in (request.view_args or {}).items():
        if name in SECRET_VIEW_ARGS and isinstance(value, str) and value:
            path = path.replace(value, "<redacted>")
    return path


def _close(error: BaseException | None) -> None:
    session = g.pop("flokk_session", None)
    if session is not None:
        database.rollback(session)
        session.close()
    token = g.pop("flokk_origin_token", None)
    if token is not None:
        request_context.reset_origin(token)


#: RFC 9457 problem documents; ``error``, ``message``, ``request_id`` and ``details`` are
#: Flokk's extension members, kept so clients written before problem documents go on working.
PROBLEM_MEDIA_TYPE = "application/problem+json"


def error_response(status: int, code: str, message: str, details: dict | None = None) -> Response:
    request_id = request_context.current().request_id
    body = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": _title(status),
        "status": status,
        "detail": message,
        "error": code,
        "message": message,
        "request_id": request_id,
    }
    if request_id:
        body["instance"] = f"urn:flokk:request:{request_id}"
    if details:
        body["details"] = details
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_MEDIA_TYPE
    return response


#: A problem's ``type`` is Flokk's code of it in a tag URI (RFC 4151): an identifier, not a page to fetch.
PROBLEM_TYPE_PREFIX = "tag:flokk,2026:problem:"


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _flokk_error(error: FlokkError) -> Response:
    return error_response(error.status, error.code, error.message, error.details or None)


def _integrity_error(error: IntegrityError) -> Response:
    """Two requests created the same thing at once: the loser is told to try again (the session rolls back)."""
    log.info("conflicting concurrent change", exc_info=True)
    return error_response(409, "conflict", "the change conflicts with another one; try again")


def _http_error(error: HTTPException) -> Response:
    code = (error.name or "error").lower().replace(" ", "_")
    response = error_response(error.code or 500, code, error.description or error.name)
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _unexpected_error(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _http_error(error)
    log.exception("unhandled error")
    return error_response(500, "internal_error", "something went wrong on our side; the request id helps us find it")
