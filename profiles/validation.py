"""Checking one setting before it is saved: payload type, instance, key, value.

Every problem names the key and says why, using Apple's schema (type,
allowed values, range, format, platforms) and the payload module's own rules.
``normalise`` turns friendly input (a PEM certificate, base64) into the
schema's type first, so what is checked is what is stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

from mdm_protocol import apple_schema, plist_values
from mdm_protocol.apple_schema import KeySpec, Problem

from profiles import availability
from profiles.model import LOCK_ONLY, PLATFORMS, REMOVED, SettingRef, valid_instance
from profiles.payloads import PayloadKind, UnknownPayload, kind

_PLACEHOLDER_UUID = "00000000-0000-4000-8000-000000000000"


def normalise(ref: SettingRef, value: Any) -> Any:
    """The value as it will be stored: the payload module's coercion, when the type is known."""
    if value is REMOVED or value is LOCK_ONLY or ref.whole_payload:
        return value
    try:
        payload_kind = kind(ref.payload.payload_type)
    except UnknownPayload:
        return value
    return payload_kind.coerce(ref.key, value)


def check_ref(ref: SettingRef) -> tuple[PayloadKind | None, list[Problem]]:
    """The kind a reference addresses, or the problems with its type, instance or key."""
    where = str(ref.payload)
    try:
        payload_kind = kind(ref.payload.payload_type)
    except UnknownPayload as error:
        return None, [Problem(ref.payload.payload_type, str(error))]
    instance = ref.payload.instance
    if payload_kind.repeatable and not instance:
        return payload_kind, [
            Problem(where, f"{payload_kind.alias} needs an instance name, e.g. {payload_kind.alias}:main")
        ]
    if not payload_kind.repeatable and instance:
        return payload_kind, [Problem(where, f"a device has one {payload_kind.alias} payload; it takes no instance name")]
    if instance and not valid_instance(instance):
        return payload_kind, [
            Problem(where, "instance names are 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
        ]
    if ref.whole_payload:
        return payload_kind, []
    if payload_kind.key_spec(ref.key) is None:
        return payload_kind, [Problem(ref.key, f"is not a key Apple's schema knows in {payload_kind.payload_type}")]
    if ref.key in payload_kind.forbidden_keys:
        return payload_kind, [Problem(ref.key, payload_kind.forbidden_keys[ref.key])]
    return payload_kind, []


def check_entry(ref: SettingRef, value: Any, *, platforms: Iterable[str] = PLATFORMS) -> list[Problem]:
    """Every problem with setting ``ref`` to ``value`` on a layer covering ``platforms``.

    ``value`` should already be normalised. ``REMOVED`` is checked like a
    value of the right type; ``LOCK_ONLY`` is only valid for a whole payload.
    """
    payload_kind, problems = check_ref(ref)
    if payload_kind is None or problems:
        return problems
    wanted = frozenset(platforms)
    if not availability.available_anywhere(payload_kind, None, wanted):
        return [Problem(str(ref.payload), f"{payload_kind.alias} is not available on {_platform_list(wanted)}")]
    if ref.whole_payload:
        if value is REMOVED or value is LOCK_ONLY:
            return []
        return [Problem(str(ref.payload), "a whole payload can only be removed or locked, not given a value")]
    if value is LOCK_ONLY:
        return [Problem(ref.key, "only a whole payload can be locked without a value")]
    if not availability.available_anywhere(payload_kind, ref.key, wanted):
        return [Problem(ref.key, f"is not available on {_platform_list(wanted)}")]
    if value is REMOVED:
        return []
    spec = payload_kind.key_spec(ref.key)
    assert spec is not None
    return check_value(payload_kind, spec, value)


def check_value(payload_kind: PayloadKind, spec: KeySpec, value: Any) -> list[Problem]:
    """A value against Apple's schema and the module's rules; references are checked as names."""
    references = payload_kind.reference_for(spec.name)
    problems: list[Problem] = []
    for reference in references:
        holder = {spec.name: value}
        for name in reference.names(holder):
            if not valid_instance(name):
                problems.append(Problem(".".join(reference.path), f"{name!r} is not an instance name of a certificate payload"))
        value = reference.replace(holder, lambda name: _PLACEHOLDER_UUID)[spec.name]
    problems.extend(Problem(where, reason) for where, reason in plist_values.problems(value, spec.name))
    problems.extend(apple_schema.check_value(spec, value, path=spec.name))
    if problems:
        return problems
    problems.extend(_url_problems(spec, value))
    problems.extend(Problem(spec.name, reason) for reason in payload_kind.check_value(spec.name, value))
    return problems


def _url_problems(spec: KeySpec, value: Any) -> list[Problem]:
    if spec.valuetype not in ("<url>", "url") or not isinstance(value, str):
        return []
    parsed = urlparse(value)
    if not parsed.scheme or not (parsed.netloc or parsed.scheme not in ("http", "https")):
        return [Problem(spec.name, "must be an absolute URL, e.g. https://example.org/")]
    return []


def _platform_list(platforms: frozenset[str]) -> str:
    ordered = [platform for platform in PLATFORMS if platform in platforms]
    if len(ordered) == 1:
        return ordered[0]
    return "any of " + ", ".join(ordered)
