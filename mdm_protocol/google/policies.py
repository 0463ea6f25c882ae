"""Chrome Policy API request shapes: modify, inherit, and batches Google accepts.

``orgunits.batchModify`` and ``batchInherit`` take requests that share one
root namespace (``chrome.users``, ``chrome.users.apps``, ...) and the same
``additionalTargetKeys`` names; ``batches`` groups requests that way.
``updateMask`` is a FieldMask in its JSON form: comma-separated field names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: Requests per batch call (Google documents no limit; Flokk keeps calls small).
BATCH_SIZE = 100


def target_key(org_unit_id: str, keys: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
    target: dict[str, Any] = {"targetResource": f"orgunits/{org_unit_id}"}
    extra = dict(keys)
    if extra:
        target["additionalTargetKeys"] = extra
    return target


def modify_request(org_unit_id: str, schema: str, value: Mapping[str, Any], keys: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
    return {
        "policyTargetKey": target_key(org_unit_id, keys),
        "policyValue": {"policySchema": schema, "value": dict(value)},
        "updateMask": ",".join(sorted(value)),
    }


def inherit_request(org_unit_id: str, schema: str, keys: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
    return {"policyTargetKey": target_key(org_unit_id, keys), "policySchema": schema}


def namespace(schema: str) -> str:
    """``chrome.users.apps.InstallType`` → ``chrome.users.apps``."""
    return schema.rsplit(".", 1)[0]


def _schema_of(request: Mapping[str, Any]) -> str:
    return request.get("policySchema") or request["policyValue"]["policySchema"]


def batches(requests: Iterable[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Requests grouped by (root namespace, additional target key names), at most BATCH_SIZE each."""
    groups: dict[tuple[str, tuple[str, ...]], list[Mapping[str, Any]]] = {}
    for request in requests:
        names = tuple(sorted((request["policyTargetKey"].get("additionalTargetKeys") or {}).keys()))
        groups.setdefault((namespace(_schema_of(request)), names), []).append(request)
    found = []
    for key in sorted(groups):
        items = groups[key]
        found.extend(items[start : start + BATCH_SIZE] for start in range(0, len(items), BATCH_SIZE))
    return found
