"""What a school's starter pack says, gathered from what Flokk knows (the page, the PDF and the CLI share it).

The pack carries an enrollment link (its QR code and URL) only for a principal who may manage the
school's links: the link is a key to the school. Without a chosen link it takes the school's newest
active one; with none, the pack tells the ICT contact how to make one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.config import Settings
from app.models.enrollment import EnrollmentToken
from app.services import policy
from app.services.access import Permission, Principal, scoped
from app.services.fleet import schools
from app.services.mdm import enrollment
from profiles.payloads import UnknownPayload, kind

#: Single sign-on as people know it.
SIGN_IN_NAMES = {"feide": "Feide", "entra": "Microsoft Entra ID"}


@dataclass(frozen=True)
class LockedSetting:
    """A setting central IT locked, for people: Apple's title of the payload and the key, the value as data."""

    payload: str
    key: str | None
    value: Any
    #: Flokk's own names (``restrictions`` / ``allowCamera``), for whoever asks central IT about it.
    code: str


@dataclass(frozen=True)
class StarterPack:
    school_name: str
    school_code: str
    dashboard_url: str
    sso: list[str]
    central_it_contact: str | None
    bulk_threshold: int
    approval_hours: int
    locked: list[LockedSetting] = field(default_factory=list)
    enrollment_url: str | None = None
    enrollment_label: str | None = None


def gather(session: Session, principal: Principal, settings: Settings, school_code: str, *,
           link_id: int | None = None) -> StarterPack:
    school = schools.get_school_by_code(session, principal, school_code)
    stack = policy.show_layer(session, principal, f"school:{school.code}")
    url, label = None, None
    if link_id is not None:
        token = enrollment.get_token(session, principal, link_id)
        if token.school_id != school.id:
            from app.errors import InvalidInput

            raise InvalidInput("the enrollment link belongs to another school", details={"link": ["Not a link of this school."]})
        url, label = enrollment.url_of(session, principal, token.id), token.label
    elif principal.can(Permission.MANAGE, school.id):
        for token in session.scalars(scoped(EnrollmentToken, principal).where(EnrollmentToken.school_id == school.id)
                                     .order_by(EnrollmentToken.id.desc())):
            if enrollment.token_state(token) == enrollment.TokenState.ACTIVE:
                url, label = enrollment.url_of(session, principal, token.id), token.label
                break
    return StarterPack(
        school_name=school.name,
        school_code=school.code,
        dashboard_url=settings.public_url.rstrip("/") + "/",
        sso=[SIGN_IN_NAMES.get(name, name) for name in sorted(settings.oidc_providers())],
        central_it_contact=settings.central_it_contact,
        bulk_threshold=settings.approval_bulk_threshold,
        approval_hours=settings.approval_expiry_hours,
        locked=locked_settings(stack),
        enrollment_url=url,
        enrollment_label=label,
    )


def locked_settings(stack: policy.LayerStack) -> list[LockedSetting]:
    """The locked settings this school inherits, with Apple's titles (secrets never: only whether one is set)."""
    from profiles.model import LOCK_ONLY, REMOVED
    from profiles.secrets import mask

    found = []
    for ref, item in stack.settings.items():
        if item.provenance.locked_in is None:
            continue
        found.append(_described(ref, mask(ref, item.value)))
    for view in [*stack.above, stack.target]:
        for ref, entry in sorted(view.layer.entries.items()):
            if entry.locked and (entry.value is REMOVED or entry.value is LOCK_ONLY):
                found.append(_described(ref, entry.value))
    return sorted(found, key=lambda setting: (setting.payload, setting.key or ""))


def _described(ref: Any, value: Any) -> LockedSetting:
    payload_title, key_title = ref.payload.payload_type, None if ref.whole_payload else ref.key
    alias = ref.payload.payload_type
    try:
        payload_kind = kind(ref.payload.payload_type)
        payload_title, alias = payload_kind.title, payload_kind.alias
        if not ref.whole_payload:
            spec = payload_kind.key_spec(ref.key)
            if spec is not None and spec.title:
                key_title = spec.title
    except UnknownPayload:
        pass
    code = alias if ref.whole_payload else f"{alias} {ref.key}"
    return LockedSetting(payload=payload_title, key=key_title, value=value, code=code)
