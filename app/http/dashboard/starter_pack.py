"""The starter pack a new school's ICT contact gets: a welcome letter and the guides for their first weeks.

One printable page per school, in Norwegian or English, written from what
Flokk knows about the school: where to sign in, what the role may do, how to
enrol iPads, and which settings central IT has locked (read live from the
policy, so the pack never goes stale).
"""

from __future__ import annotations

from flask import render_template

from app.http import db_session, settings
from app.http.dashboard import blueprint
from app.http.dashboard.policy import setting_rows
from app.http.rules import current_principal, requires
from app.services import policy
from app.services.access import Permission
from app.services.fleet import schools

#: Single sign-on as people know it.
SIGN_IN_NAMES = {"feide": "Feide", "entra": "Microsoft Entra ID"}


@blueprint.get("/schools/<code>/starter-pack")
@requires(Permission.VIEW)
def starter_pack(code: str):
    session, principal = db_session(), current_principal()
    school = schools.get_school_by_code(session, principal, code)
    stack = policy.show_layer(session, principal, f"school:{school.code}")
    locked = [row for row in setting_rows(stack) if row["locked_in"] is not None]
    config = settings()
    return render_template(
        "starter_pack.html",
        school=school,
        dashboard_url=config.public_url.rstrip("/") + "/",
        sso=[SIGN_IN_NAMES.get(name, name) for name in sorted(config.oidc_providers())],
        locked=locked,
        bulk_threshold=config.approval_bulk_threshold,
        approval_hours=config.approval_expiry_hours,
    )
