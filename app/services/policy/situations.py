"""Effective policy of devices: their facts, their layers, their compiled profiles.

Devices in the same situation (organisation, school, group, platform,
supervision, Shared iPad, no device layer of their own; for devices managed
declaratively also the OS version) have the same effective policy, so
``PolicyCache`` resolves and compiles once per situation: 50,000 devices in a
few hundred classes cost a few hundred compilations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Select, and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import context
from app.models.declarations import DeclarativeDevice
from app.models.devices import Device
from app.models.policy import PolicyLayer, PolicyNamespace
from app.models.tenancy import Organisation, School
from app.services.mdm.enrollment import reverse_host
from app.services.policy import layers as policy_layers
from profiles import DeviceFacts, EffectivePolicy, Layer, Level, resolve
from profiles.compile import CompiledPolicy, CompileOptions, compile_policy


@dataclass(frozen=True)
class DeviceSituation:
    """What resolution needs from one device row."""

    id: int
    organisation_id: int
    school_id: int
    group_id: int | None
    platform: str
    supervised: bool
    shared_ipad: bool
    enrollment_state: str
    os_version: str | None = None
    #: It has answered declaratively since it (last) enrolled: its settings go as declarations.
    declarative: bool = False


def _shared_ipad_column():
    """Apple's IsMultiUser from the stored DeviceInformation answer, read in SQL (no JSON loading)."""
    info = Device.inventory["DeviceInformation"]
    return func.coalesce(info["IsMultiUser"].as_boolean(), info["QueryResponses"]["IsMultiUser"].as_boolean(), False)


def situations_query() -> Select:
    confirmed = and_(DeclarativeDevice.confirmed_at.is_not(None), DeclarativeDevice.confirmed_at >= Device.enrolled_at)
    return (
        select(
            Device.id,
            School.organisation_id,
            Device.school_id,
            Device.group_id,
            Device.platform,
            Device.supervised,
            _shared_ipad_column(),
            Device.enrollment_state,
            Device.os_version,
            func.coalesce(confirmed, False),
        )
        .join(School, School.id == Device.school_id)
        .outerjoin(DeclarativeDevice, DeclarativeDevice.device_id == Device.id)
    )


def situations(session: Session, statement: Select) -> list[DeviceSituation]:
    return [DeviceSituation(*row) for row in session.execute(statement)]


def compile_options(session: Session, organisation_id: int) -> CompileOptions:
    """The organisation's profile naming; the identifier prefix is fixed the first time it is needed."""
    organisation = session.get(Organisation, organisation_id)
    assert organisation is not None
    stored = session.get(PolicyNamespace, organisation_id) or _fix_namespace(session, organisation_id)
    return CompileOptions(identifier_prefix=stored.identifier_prefix, organisation=organisation.name)


def _fix_namespace(session: Session, organisation_id: int) -> PolicyNamespace:
    """Store the prefix; when two devices enrol at once, the first writer wins and both use its row."""
    candidate = PolicyNamespace(
        organisation_id=organisation_id, identifier_prefix=prefix_from_url(context(session).settings.public_url)
    )
    try:
        with session.begin_nested():
            session.add(candidate)
        return candidate
    except IntegrityError:
        stored = session.get(PolicyNamespace, organisation_id)
        assert stored is not None
        return stored


def prefix_from_url(public_url: str) -> str:
    """``https://mdm.kommune.no`` gives ``no.kommune.mdm.flokk``: the host reversed, as the
    enrollment profile's identifier starts, so Flokk's own profiles share one prefix."""
    return f"{reverse_host(public_url)}.flokk"


@dataclass
class PolicyCache:
    """Resolves and compiles once per distinct device situation within one organisation.

    A school, group or device without a layer of its own changes nothing, so
    it is left out of the situation: all devices of schools that only follow
    the baseline share one compilation.
    """

    layers: Sequence[Layer]
    options: CompileOptions
    _scopes: dict[Level, frozenset[str]] = field(init=False)
    _cache: dict[tuple, tuple[EffectivePolicy, CompiledPolicy]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._scopes = {
            level: frozenset(layer.id.scope for layer in self.layers if layer.level is level)
            for level in (Level.SCHOOL, Level.GROUP, Level.DEVICE)
        }

    def facts(self, device: DeviceSituation) -> DeviceFacts:
        _, _, _, school, group, own, os_version = self.key(device)
        return DeviceFacts(
            platform=device.platform,
            supervised=device.supervised,
            shared_ipad=device.shared_ipad,
            school=school or "",
            group=group or "",
            device=own or "",
            declarative=os_version is not None,
            os_version=os_version or "",
        )

    def key(self, device: DeviceSituation) -> tuple:
        """Devices with equal keys have the same effective policy."""
        school, group, own = str(device.school_id), str(device.group_id) if device.group_id else "", str(device.id)
        return (
            device.platform,
            device.supervised,
            device.shared_ipad,
            school if school in self._scopes[Level.SCHOOL] else None,
            group if group in self._scopes[Level.GROUP] else None,
            own if own in self._scopes[Level.DEVICE] else None,
            # Declarations depend on the OS version; profiles do not.
            (device.os_version or "") if device.declarative else None,
        )

    def policy(self, device: DeviceSituation) -> tuple[EffectivePolicy, CompiledPolicy]:
        key = self.key(device)
        found = self._cache.get(key)
        if found is None:
            facts = self.facts(device)
            effective = resolve(self.layers, facts)
            found = (effective, compile_policy(effective, self.options))
            self._cache[key] = found
        return found

    @property
    def compilations(self) -> int:
        return len(self._cache)


def cache_for(session: Session, organisation_id: int, replaced: Iterable[Layer] = ()) -> PolicyCache:
    """A cache over the organisation's stored layers, with ``replaced`` layers swapped in (previews)."""
    layers = {layer.id: layer for layer in policy_layers.organisation_layers(session, organisation_id)}
    for layer in replaced:
        layers[layer.id] = layer
    return PolicyCache(list(layers.values()), compile_options(session, organisation_id))


def organisation_ids_with_layers(session: Session) -> list[int]:
    return list(session.scalars(select(PolicyLayer.organisation_id).distinct()))
