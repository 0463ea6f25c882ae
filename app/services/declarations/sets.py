"""A device's declaration set, from the same policy cache the reconciler compiles profiles with.

Everything but a device's own legacy-profile URLs is compiled once per
situation (``PolicyCache``); :func:`of` adds the URLs. A device that is not
managed declaratively has no set (None). :func:`signed_profile` serves the
profile behind one of those URLs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.db import context
from app.errors import NotFound
from app.models.devices import Device, EnrollmentState
from app.services.declarations import profile_urls
from app.services.policy.signing import sign_profile
from app.services.policy.situations import DeviceSituation, PolicyCache, cache_for, situations, situations_query
from mdm_protocol.declarative.declarations import DeclarationSet
from profiles.compile.declarations import DeclarativePolicy

log = logging.getLogger("flokk.mdm")


@dataclass(frozen=True)
class DeviceDeclarations:
    """One device's situation, compiled declarations and whole set (None: not managed declaratively)."""

    situation: DeviceSituation
    policy: DeclarativePolicy | None
    declarations: DeclarationSet | None


def of(session: Session, cache: PolicyCache, device: DeviceSituation) -> DeclarationSet | None:
    _, compiled = cache.policy(device)
    if compiled.declarative is None:
        return None
    return compiled.declarative.declaration_set(profile_urls.url_for(context(session).settings, device.id))


def token_of(session: Session, cache: PolicyCache, device: DeviceSituation) -> str | None:
    """The DeclarationsToken of :func:`of`, computed without building the set."""
    _, compiled = cache.policy(device)
    if compiled.declarative is None:
        return None
    return compiled.declarative.token(profile_urls.url_for(context(session).settings, device.id))


def for_device(session: Session, device_id: int) -> DeviceDeclarations | None:
    """A device's declarations as the policy stands (None: no such device)."""
    found = situations(session, situations_query().where(Device.id == device_id))
    if not found:
        return None
    situation = found[0]
    cache = cache_for(session, situation.organisation_id)
    _, compiled = cache.policy(situation)
    return DeviceDeclarations(situation, compiled.declarative, of(session, cache, situation))


def signed_profile(session: Session, device_id: int, token: str, identifier: str, version: str) -> bytes:
    """The signed profile a legacy-profile URL names, if the URL is genuine and the device should
    hold exactly that version now; NotFound otherwise (saying no more)."""
    if not profile_urls.verify(context(session).settings, device_id, identifier, version, token):
        raise NotFound("no such profile")
    found = for_device(session, device_id)
    if found is None or found.policy is None or found.situation.enrollment_state != EnrollmentState.ENROLLED:
        raise NotFound("no such profile")
    profile = found.policy.profile(identifier)
    if profile is None or profile.uuid != version:
        raise NotFound("no such profile")
    log.info("serving %s %s to device %s", identifier, version, device_id)
    return sign_profile(session, profile.body)
