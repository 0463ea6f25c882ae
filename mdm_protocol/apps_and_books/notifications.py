"""The notifications Apps and Books sends to the MDM's notification URL.

Implements *Subscribing to notifications* (Device Management documentation):
a JSON object with ``notificationId`` (for deduplication; Apple may send a
notification more than once), ``notificationType``, ``notification`` and
``uId``, authenticated by the bearer token the MDM set in ``client/config``
(checking it is the application's job). Types Flokk acts on:
``ASSET_MANAGEMENT`` (an association or disassociation finished: its
``eventId``, ``type``, ``result``, ``assignments`` and, on failure, one
``error``), ``ASSET_COUNT`` (``adamId``, ``pricingParam``, ``countDelta``)
and ``TEST_NOTIFICATION``. Unknown keys are ignored, required ones checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mdm_protocol.apps_and_books.client import Assignment, _assignment

MAX_NOTIFICATION_BYTES = 1024 * 1024


class NotificationError(ValueError):
    """The body is not an Apps and Books notification; the message names the key."""


@dataclass(frozen=True)
class Notification:
    notification_id: str
    notification_type: str
    uid: str
    body: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class AssetManagement:
    event_id: str
    type: str  # ASSOCIATE, DISASSOCIATE, REVOKE
    result: str  # SUCCESS or FAILURE
    assignments: tuple[Assignment, ...] = ()
    error_number: int | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class AssetCount:
    adam_id: str
    pricing_param: str
    count_delta: int


def parse(data: bytes) -> Notification:
    if len(data) > MAX_NOTIFICATION_BYTES:
        raise NotificationError("the notification is too large")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise NotificationError("the notification is not JSON") from None
    if not isinstance(document, dict):
        raise NotificationError("the notification is not a JSON object")
    values = {}
    for key in ("notificationId", "notificationType", "uId"):
        value = document.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and key == "uId":
            value = str(value)
        if not isinstance(value, str) or not value or len(value) > 200:
            raise NotificationError(f"{key}: is required (a string)")
        values[key] = value
    body = document.get("notification", {})
    if not isinstance(body, dict):
        raise NotificationError("notification: must be an object")
    return Notification(values["notificationId"], values["notificationType"], values["uId"], body)


def asset_management(notification: Notification) -> AssetManagement:
    body = notification.body
    event_id, kind, result = body.get("eventId"), body.get("type"), body.get("result")
    for key, value in (("eventId", event_id), ("type", kind), ("result", result)):
        if not isinstance(value, str) or not value:
            raise NotificationError(f"notification.{key}: is required (a string)")
    raw = body.get("assignments")
    assignments = tuple(item for item in (_assignment(entry) for entry in raw) if item) if isinstance(raw, list) else ()
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    number = error.get("errorNumber")
    message = error.get("errorMessage")
    return AssetManagement(
        event_id, kind, result, assignments,
        number if isinstance(number, int) and not isinstance(number, bool) else None,
        message if isinstance(message, str) else None,
    )


def asset_count(notification: Notification) -> AssetCount:
    body = notification.body
    adam_id, pricing, delta = body.get("adamId"), body.get("pricingParam"), body.get("countDelta")
    if isinstance(adam_id, int) and not isinstance(adam_id, bool):
        adam_id = str(adam_id)
    if not isinstance(adam_id, str) or not adam_id or not isinstance(pricing, str):
        raise NotificationError("notification.adamId and pricingParam: are required")
    if not isinstance(delta, int) or isinstance(delta, bool) or abs(delta) > 10**9:
        raise NotificationError("notification.countDelta: must be a whole number")
    return AssetCount(adam_id, pricing, delta)
