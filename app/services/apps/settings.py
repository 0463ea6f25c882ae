"""Changing a layer's app list: one app's state, configuration and flag as policy changes.

The CLI (``flokk apps set/remove``), the API (``POST /apps/layers/<layer>``)
and the dashboard's app pages all go through ``policy.change``, so an app
change has the locks, the preview, the version history and the restore of
any other setting. ``inherit`` forgets the layer's own entry for the app.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.services import policy
from app.services.access import Principal
from profiles import Change
from profiles.payloads.app import STATES

INHERIT = "inherit"
_UNSET: Any = object()


def store_id(text: str) -> str:
    """``361304891`` or ``app:361304891``: the App Store id (checked by the policy model)."""
    cleaned = text.strip()
    if cleaned.startswith("app:"):
        cleaned = cleaned[4:]
    if not cleaned or len(cleaned) > 64:
        raise InvalidInput("name an app by its App Store id, e.g. 361304891 (flokk apps list shows them)")
    return cleaned


def changes(app: str, state: str, *, configuration: Any = _UNSET, remove_on_unenroll: bool | None = None,
            lock: bool | None = None) -> list[Change]:
    """The policy changes for one app; ``configuration=None`` drops this layer's configuration."""
    ref = f"app:{store_id(app)}"
    if state == INHERIT:
        return [Change.unset(ref)]
    if state not in STATES:
        raise InvalidInput(f"state must be one of {', '.join(STATES)} or {INHERIT}, not {state!r}",
                           details={"state": [f"must be one of {', '.join((*STATES, INHERIT))}"]})
    found = [Change.set(ref, "State", state, lock=lock)]
    if configuration is None:
        found.append(Change.unset(ref, "Configuration"))
    elif configuration is not _UNSET:
        found.append(Change.set(ref, "Configuration", configuration))
    if remove_on_unenroll is not None:
        found.append(Change.set(ref, "RemoveOnUnenroll", remove_on_unenroll))
    return found


def set_app(session: Session, principal: Principal, layer: str, app: str, state: str, *, configuration: Any = _UNSET,
            remove_on_unenroll: bool | None = None, lock: bool | None = None, note: str | None = None,
            dry_run: bool = False) -> policy.ChangeResult:
    """Set (or with ``inherit`` forget) one app in a layer: saved as a version and reconciled, or refused whole."""
    wanted = changes(app, state, configuration=configuration, remove_on_unenroll=remove_on_unenroll, lock=lock)
    if configuration is None:
        current = policy.show_layer(session, principal, layer).target.layer
        wanted = [change for change in wanted if change.ref.key != "Configuration" or current.get(change.ref) is not None]
    return policy.change(session, principal, layer, wanted, note=note, dry_run=dry_run)


UNCHANGED = _UNSET
