"""What to answer each DeclarativeManagement endpoint, over one small storage Protocol.

Implements the server behaviour of Apple's *Declarative Management* check-in
endpoints: ``tokens`` answers a ``TokensResponse``, ``declaration-items`` a
``DeclarationItemsResponse``, ``declaration/<kind>/<identifier>`` the
declaration (404 when it is not in the device's set, which makes the device
remove it), ``status`` stores a ``StatusReport`` and answers 200 with no
body. The caller (``MdmService``) has already checked that the signing
identity speaks for the enrollment; this module never sees another device's
set.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from mdm_protocol.checkin import DeclarativeManagement, Enrollment
from mdm_protocol.declarative import requests, status
from mdm_protocol.declarative.declarations import DeclarationSet, SyncTokens
from mdm_protocol.declarative.requests import EndpointKind
from mdm_protocol.service import MdmError, Reply

log = logging.getLogger("flokk.mdm")

JSON_CONTENT_TYPE = "application/json"


class DeclarationStore(Protocol):
    """A device's declarations and what it reports about them."""

    def declaration_set(self, enrollment: Enrollment) -> DeclarationSet:
        """Everything the enrollment is offered now (an empty set for channels Flokk declares nothing to)."""

    def sync_tokens(self, enrollment: Enrollment, declarations: DeclarationSet) -> SyncTokens:
        """The set's token and when it last changed (remembering a token not seen before)."""

    def record_status(self, enrollment: Enrollment, report: status.StatusReport) -> None: ...


class DeclarativeService:
    """Answers the DeclarativeManagement check-in message."""

    def __init__(self, store: DeclarationStore) -> None:
        self.store = store

    def handle(self, message: DeclarativeManagement) -> Reply:
        try:
            endpoint = requests.parse_endpoint(message.endpoint)
        except requests.RequestError as error:
            raise MdmError(400, str(error)) from None
        enrollment = message.enrollment
        if endpoint.kind is EndpointKind.STATUS:
            return self._status(enrollment, message.data)
        declarations = self.store.declaration_set(enrollment)
        if endpoint.kind is EndpointKind.TOKENS:
            return _json(self.store.sync_tokens(enrollment, declarations).tokens_response())
        if endpoint.kind is EndpointKind.DECLARATION_ITEMS:
            return _json(declarations.items_response())
        assert endpoint.declaration_kind is not None and endpoint.identifier is not None
        found = declarations.find(endpoint.declaration_kind, endpoint.identifier)
        if found is None:
            # Apple: a 404 makes the device remove a declaration it still holds under this identifier.
            log.info("%s asked for %s %s, which is not in its set", enrollment.device_id,
                     endpoint.declaration_kind, endpoint.identifier[:80])
            return _json({"error": "not_found", "message": "no such declaration for this device"}, status=404)
        return _json(found.document())

    def _status(self, enrollment: Enrollment, data: bytes | None) -> Reply:
        if data is None:
            raise MdmError(400, "Data: is required for the status endpoint (a StatusReport)")
        try:
            report = status.parse(data)
        except status.StatusError as error:
            raise MdmError(400, str(error)) from None
        if report.unknown:
            log.debug("status from %s: ignored unknown items %s", enrollment.device_id, ", ".join(report.unknown[:20]))
        self.store.record_status(enrollment, report)
        return Reply()


def _json(value: Any, *, status: int = 200) -> Reply:
    return Reply(status=status, body=json.dumps(value, separators=(",", ":")).encode("utf-8"),
                 content_type=JSON_CONTENT_TYPE)
