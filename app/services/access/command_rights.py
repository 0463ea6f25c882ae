"""What an admin's MDM command would do beyond its name: wipe, unmanage, or undercut the policy.

Which roles may send which commands is data next to the roles
(``access.ROLE_COMMANDS``). This module adds what the parameters decide, for
every admin (REST API, CLI and dashboard all send through ``approvals.submit``;
the policy engine and Flokk's own jobs queue directly and are not checked here):

- Flokk's own profiles (the policy's profiles and the enrollment profile, named
  under Flokk's identifier prefix) are installed and removed by the policy
  engine and by enrolment only. A raw ``InstallProfile`` that would replace one,
  or a ``RemoveProfile`` of a policy profile, would undo a setting central IT
  locked until the next reconcile: refused, for every role.
- Removing the enrollment profile unenrols the iPad: like an erase, it waits for
  a second central admin.
- Wiping commands (``access.WIPING_COMMANDS``), and commands outside Flokk's
  catalogue (Flokk cannot tell what they do), wait for approval too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import context
from app.errors import Forbidden, InvalidInput
from app.services.access import WIPING_COMMANDS
from mdm_protocol import commands as mdm_commands
from mdm_protocol import configuration_profile

#: The approval kind of commands that wipe or take management away.
DESTRUCTIVE = "destructive"
ENROLLMENT_PART = "enrollment"


def approval_needed(session: Session, request_type: str, params: Mapping[str, Any]) -> str | None:
    """DESTRUCTIVE when the command must wait for a second central admin whatever the number of
    devices; None when it may be queued at once. Forbidden for a command that touches Flokk's
    own profiles; InvalidInput for a profile Flokk cannot read."""
    if request_type in WIPING_COMMANDS or request_type not in mdm_commands.CATALOGUE:
        return DESTRUCTIVE
    if request_type == "InstallProfile":
        _refuse_flokk_profile_install(session, params.get("Payload"))
    elif request_type == "RemoveProfile":
        identifier = params.get("Identifier")
        kind = flokk_profile_kind(session, identifier) if isinstance(identifier, str) else None
        if kind == ENROLLMENT_PART:
            return DESTRUCTIVE
        if kind is not None:
            raise Forbidden(
                f"{identifier} is one of Flokk's policy profiles: only the policy removes it. "
                "Change the policy (the layer that sets this payload) instead.",
                details={"Identifier": ["Is a Flokk policy profile; change the policy instead."]},
            )
    return None


def _refuse_flokk_profile_install(session: Session, payload: Any) -> None:
    if not isinstance(payload, (bytes, bytearray)):
        return  # the schema check names the wrong type
    try:
        profile = configuration_profile.outline(bytes(payload))
    except configuration_profile.ProfileError as error:
        raise InvalidInput(f"cannot install this profile: {error}", details={"Payload": [str(error)]}) from None
    if profile.manages_the_device:
        raise Forbidden(
            "the profile holds an MDM payload: an iPad is managed by Flokk's enrollment profile only",
            details={"Payload": ["Holds an MDM payload (com.apple.mdm)."]},
        )
    for identifier in profile.identifiers:
        if flokk_profile_kind(session, identifier) is not None:
            raise Forbidden(
                f"the profile uses the identifier {identifier}, which belongs to Flokk's own profiles: "
                "only the policy and enrolment install those. Set it in the policy instead, or give "
                "your profile an identifier outside Flokk's.",
                details={"Payload": [f"Uses Flokk's identifier {identifier}."]},
            )


def flokk_profile_kind(session: Session, identifier: str) -> str | None:
    """``"enrollment"`` for Flokk's enrollment (MDM) profile, ``"policy"`` for its other profiles,
    None for a profile that is not Flokk's."""
    for root in flokk_identifier_roots(session):
        if identifier == root or identifier.startswith(root + "."):
            rest = identifier[len(root) + 1 :]
            return ENROLLMENT_PART if rest.split(".", 1)[0] == ENROLLMENT_PART else "policy"
    return None


def flokk_identifier_roots(session: Session) -> set[str]:
    """The prefixes of Flokk's profiles: from today's public URL (enrollment profiles) and the
    ones stored when each organisation's policy was first used (the URL may have changed since)."""
    from app.models.policy import PolicyNamespace
    from app.services.policy.situations import prefix_from_url

    roots = {prefix_from_url(context(session).settings.public_url)}
    roots.update(session.scalars(select(PolicyNamespace.identifier_prefix)))
    return roots
