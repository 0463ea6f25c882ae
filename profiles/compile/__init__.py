"""Compilation: an effective policy becomes what a platform installs.

One compiler per platform behind one small interface: Apple devices get
configuration profiles (``AppleProfileCompiler``), Chromebooks get Chrome
policy values (``ChromePolicyCompiler``). Every compiled artifact has a
stable ``identifier`` and a ``version`` that changes exactly when its content
does, so reconciliation can compare desired and installed artifacts the same
way on every platform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from profiles.resolve import EffectivePolicy, LeftOut

_REVERSE_DNS = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


@dataclass(frozen=True)
class CompileOptions:
    """Organisation-wide naming for compiled artifacts.

    ``identifier_prefix`` is a reverse-DNS name the organisation owns
    (``no.oslo.skole``); every policy profile's identifier starts with
    ``<prefix>.policy.`` so the reconciler knows which profiles are its own.
    """

    identifier_prefix: str
    organisation: str
    #: Profiles installed by MDM commands are ``<prefix>.policy.…``; those a device managed
    #: declaratively installs from legacy-profile declarations are ``<prefix>.declared.…``, so
    #: the same setting is never installed both ways under one identifier.
    channel: str = "policy"

    def __post_init__(self) -> None:
        if not _REVERSE_DNS.fullmatch(self.identifier_prefix):
            raise ValueError(f"identifier prefix {self.identifier_prefix!r} must be reverse-DNS, e.g. no.oslo.skole")

    @property
    def namespace(self) -> str:
        return f"{self.identifier_prefix}.{self.channel}."


class Artifact(Protocol):
    """One thing a device installs: identified stably, versioned by content."""

    @property
    def identifier(self) -> str: ...

    @property
    def version(self) -> str: ...


@dataclass(frozen=True)
class CompiledPolicy:
    platform: str
    #: What MDM commands (or Google) deliver; empty for a device managed declaratively.
    artifacts: tuple[Artifact, ...]
    #: What the compiler could not express for this platform, with reasons.
    left_out: tuple[LeftOut, ...] = ()
    #: For a device managed declaratively: its declarations (``profiles.compile.declarations``).
    declarative: Any = None

    def by_identifier(self) -> dict[str, Artifact]:
        return {artifact.identifier: artifact for artifact in self.artifacts}


class PolicyCompiler(Protocol):
    """Turns an effective policy into artifacts for the platforms it serves."""

    platforms: frozenset[str]

    def compile(self, policy: EffectivePolicy) -> CompiledPolicy: ...


def compile_policy(policy: EffectivePolicy, options: CompileOptions) -> CompiledPolicy:
    """The one place that decides how a device gets its settings.

    A device managed declaratively gets every setting as a declaration (a
    declaration of its own kind where Apple has one the device takes, else the
    profile through a legacy-profile declaration) and nothing by MDM command; any
    other device gets profiles (or Chrome policies) as before. So no setting is
    ever sent both ways.
    """
    if policy.facts.declarative:
        from profiles.compile.declarations import DeclarativeCompiler

        return CompiledPolicy(policy.facts.platform, (), (), DeclarativeCompiler(options).compile(policy))
    return compiler_for(policy.facts.platform, options).compile(policy)


def compiler_for(platform: str, options: CompileOptions) -> PolicyCompiler:
    """The compiler serving a platform."""
    from profiles.compile.apple import AppleProfileCompiler
    from profiles.compile.chrome import ChromePolicyCompiler

    for compiler in (AppleProfileCompiler(options), ChromePolicyCompiler(options)):
        if platform in compiler.platforms:
            return compiler
    raise ValueError(f"no policy compiler for platform {platform!r}")
