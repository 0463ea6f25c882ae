"""What an app setting must satisfy beyond its schema: the app exists, and a school picks from what is allowed.

Checked with every policy change (``policy.change`` and restores), after
the pure model's own checks and locks, refused the same way (every key with
its reason, nothing saved):

* an app must be one of the organisation's Apps and Books apps whose
  licences can be assigned to devices (``flokk apps sync`` reads them);
* below the baseline, a school, group or device may only set apps central IT
  allows: apps the baseline lists as ``available`` or ``required``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.apps import AppAsset
from app.services.apps import connection
from profiles import Action, Change, Layer, Level, Refusal, Refused, merge
from profiles.payloads.app import AVAILABLE, PAYLOAD_TYPE, REQUIRED

_ALLOWED = (AVAILABLE, REQUIRED)


def check(session: Session, organisation_id: int, level: Level, above: Sequence[Layer], changes: Sequence[Change]) -> None:
    """Refused (all reasons) when a change sets an app that does not exist or a school may not pick."""
    wanted = sorted({change.ref.payload.instance for change in changes
                     if change.action is Action.SET and change.ref.payload.payload_type == PAYLOAD_TYPE})
    if not wanted:
        return
    token = connection.current(session, organisation_id)
    assets = {}
    if token is not None:
        assets = {row.adam_id: row for row in session.scalars(
            select(AppAsset).where(AppAsset.token_id == token.id, AppAsset.adam_id.in_(wanted)))}
    allowed = _allowed_by_baseline(above) if level is not Level.BASELINE else None
    refusals: list[Refusal] = []
    for store_id in wanted:
        name = f"app:{store_id}"
        asset = assets.get(store_id)
        if token is None:
            refusals.append(Refusal(name, "Flokk has no Apps and Books content token yet: central IT imports it first"))
        elif asset is None:
            refusals.append(Refusal(name, "is not one of the organisation's Apps and Books apps "
                                          "(buy it in Apple School Manager, then run flokk apps sync)"))
        elif not asset.device_assignable:
            refusals.append(Refusal(name, f"{asset.name}: Apple does not allow assigning its licences to devices"))
        elif allowed is not None and store_id not in allowed:
            refusals.append(Refusal(name, f"{asset.name} is not among the apps central IT allows; "
                                          "ask central IT to make it available in the baseline"))
    if refusals:
        raise Refused(refusals)


def _allowed_by_baseline(above: Sequence[Layer]) -> set[str]:
    baseline = [layer for layer in above if layer.level is Level.BASELINE]
    settings, _ = merge(baseline)
    return {ref.payload.instance for ref, value in settings.items()
            if ref.payload.payload_type == PAYLOAD_TYPE and ref.key == "State" and value.value in _ALLOWED}
