"""Chrome policy values for Chromebooks from an effective policy.

Chromebooks are not sent profiles: Google applies Chrome policies per
organisational unit, set through the Chrome Policy API
(``customers.policies.orgunits.batchModify``). This compiler produces the
values such a request carries, one per policy schema (and per network for
Wi-Fi), each with a content hash as its version, so the same reconciler
can compare what Google reports with what Flokk wants. Calling Google is
the Chromebook integration's job, not this module's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from profiles import chrome_mapping
from profiles.compile import CompiledPolicy, CompileOptions
from profiles.resolve import EffectivePolicy, LeftOut


@dataclass(frozen=True)
class ChromePolicyValue:
    """One Chrome policy schema's value for an organisational unit."""

    schema: str
    value: dict[str, Any] = field(hash=False)
    #: Chrome's additionalTargetKeys, e.g. ``{"network_id": "eduroam"}`` for a Wi-Fi network.
    target_keys: tuple[tuple[str, str], ...] = ()

    @property
    def identifier(self) -> str:
        keys = "".join(f"#{name}={value}" for name, value in self.target_keys)
        return f"{self.schema}{keys}"

    @property
    def version(self) -> str:
        return hashlib.sha256(json.dumps(self.value, sort_keys=True).encode("utf-8")).hexdigest()

    @property
    def update_mask(self) -> str:
        """The field mask batchModify needs: every top-level field this value sets."""
        return ",".join(sorted(self.value))


class ChromePolicyCompiler:
    """The ``PolicyCompiler`` for Chromebooks."""

    platforms = frozenset({"chromeos"})

    def __init__(self, options: CompileOptions) -> None:
        self.options = options

    def compile(self, policy: EffectivePolicy) -> CompiledPolicy:
        if policy.facts.platform not in self.platforms:
            raise ValueError(f"cannot compile Chrome policies for {policy.facts.platform}")
        values: list[ChromePolicyValue] = []
        left_out: list[LeftOut] = []
        for payload in policy.payloads:
            plain = payload.plain()
            for rule in chrome_mapping.rules_for(payload.kind.payload_type):
                if not rule.keys & plain.keys():
                    continue
                reason = rule.refuse(plain)
                if reason:
                    left_out.append(LeftOut(payload.ref, None, reason))
                    continue
                targets = ((rule.instance_key, rule.instance_value(payload.ref.instance)),) if rule.instance_key else ()
                values.append(ChromePolicyValue(rule.schema, rule.build(plain), targets))
        values.sort(key=lambda item: item.identifier)
        return CompiledPolicy(policy.facts.platform, tuple(values), tuple(left_out))
