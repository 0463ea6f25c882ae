"""The policy page: a school's layer (or, for central IT, the baseline) in context, and a form to change one setting.

The page lists what the stack says at that layer with where each value comes
from and who locked it; the form previews (nothing saved) or saves one set or
unset. A refusal (a key central IT locked, a value that does not fit) shows on
the same page with the key and the reason, status 422, nothing saved.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.errors import InvalidInput
from app.http import db_session
from app.http.dashboard import blueprint, form_data, notice
from app.http.rules import current_principal, requires
from app.schemas import load
from app.schemas.policy import SettingForm
from app.schemas.policy_views import payload_name, report_out
from app.services import policy, schools
from app.services.access import Permission
from profiles import LOCK_ONLY, REMOVED, LayerId, SettingRef
from profiles.payloads import all_kinds
from profiles.secrets import mask
from profiles.values import show

_FIELDS = ("payload", "key", "value", "action", "intent")


@blueprint.get("/schools/<code>/policy")
@requires(Permission.VIEW)
def school_policy(code: str):
    return _page(f"school:{code}", code)


@blueprint.post("/schools/<code>/policy")
@requires(Permission.MANAGE)
def change_school_policy(code: str):
    return _change(f"school:{code}", code)


@blueprint.get("/policy")
@requires(Permission.VIEW)
def baseline_policy():
    return _page("baseline", None)


@blueprint.post("/policy")
@requires(Permission.ADMINISTER, central=True)
def change_baseline_policy():
    return _change("baseline", None, lockable=True)


def _change(layer: str, code: str | None, *, lockable: bool = False):
    fields = form_data(*_FIELDS)
    if lockable:
        fields["lock"] = request.form.get("lock") == "1"
    try:
        data = load(SettingForm(), fields)
        result = policy.change(db_session(), current_principal(), layer, [data["change"]], dry_run=data["dry_run"])
    except InvalidInput as refused:
        return _page(layer, code, refused=refused, form=fields), 422
    if data["dry_run"]:
        codes = policy.school_codes(db_session(), current_principal(), result.report.school_ids())
        return _page(layer, code, preview=result, report=report_out(result.report, codes), form=fields)
    if result.version is None:
        notice(_("Nothing changed: the layer already says so."))
    else:
        notice(_("Saved as version %(number)s; %(count)s device(s) get the change.", number=result.version.number,
                 count=result.report.queued))
    return redirect(url_for("dashboard.school_policy", code=code) if code else url_for("dashboard.baseline_policy"))


def _rows(stack: policy.LayerStack) -> list[dict[str, Any]]:
    """The values the stack gives this layer, then what a layer removed or locked as a whole
    (those set no value, yet a school must see them)."""
    rows = [
        _row(stack, ref, show(mask(ref, item.value)), item.provenance.layer, item.provenance.set_by,
             item.provenance.locked_in, item.provenance.locked_by)
        for ref, item in stack.settings.items()
    ]
    for view in [*stack.above, stack.target]:
        for ref, entry in sorted(view.layer.entries.items()):
            if entry.value is REMOVED or entry.value is LOCK_ONLY:
                rows.append(_row(stack, ref, show(entry.value), view.layer.id, entry.set_by,
                                 view.layer.id if entry.locked else None, entry.locked_by))
    return rows


def _row(stack: policy.LayerStack, ref: SettingRef, value: str, layer: LayerId, set_by: str,
         locked_in: LayerId | None, locked_by: str | None) -> dict[str, Any]:
    return {
        "payload": payload_name(ref),
        "key": None if ref.whole_payload else ref.key,
        "value": value,
        "layer": stack.label(layer),
        "own": layer == stack.target.layer.id,
        "set_by": set_by,
        "locked_in": stack.label(locked_in),
        "locked_by": locked_by,
    }


def _page(layer: str, code: str | None, **more: Any) -> str:
    session, principal = db_session(), current_principal()
    stack = policy.show_layer(session, principal, layer)
    school = schools.get_school_by_code(session, principal, code) if code else None
    return render_template(
        "policy.html",
        title=_("Policy of %(school)s", school=school.name) if school else _("Baseline policy"),
        stack=stack,
        rows=_rows(stack),
        school=school,
        schools=schools.list_schools(session, principal) if school is None else [],
        payloads=[kind.alias for kind in all_kinds()],
        form=more.pop("form", {}),
        **more,
    )
