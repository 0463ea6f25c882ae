"""The dashboard: server-rendered pages for school ICT contacts and central IT.

A signed-in admin's principal is rebuilt from the database on every request
(grants, active flag, password version), so a removed grant or a deactivated
account takes effect at once. Every state-changing form carries a CSRF token.
Errors render as a page with the error's status, so the boundary rolls the
change back; successes redirect (or show a secret once).
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from flask import Blueprint, Response, flash, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app.errors import FlokkError, InvalidInput, RateLimited, Unauthenticated
from app.http import db_session, settings
from app.http.dashboard import labels
from app.http.rules import set_principal
from app.services.access import Permission, principal_for_admin, sign_in

blueprint = Blueprint("dashboard", __name__, template_folder="templates")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Pages a signed-in admin may open before replacing a one-time password.
_PASSWORD_EXEMPT = frozenset({"dashboard.password", "dashboard.logout", "dashboard.language"})


class CsrfError(FlokkError):
    status = 400
    code = "csrf"


@blueprint.before_request
def _load_principal() -> Response | None:
    set_principal(None)
    g.admin = None
    _check_csrf()
    admin_id, version, issued = session.get("admin_id"), session.get("version"), session.get("issued_at", 0)
    if admin_id is None:
        return None
    if not isinstance(issued, (int, float)) or time.time() - issued > settings().session_hours * 3600:
        session.clear()
        return None
    admin = sign_in.admin_for_session(db_session(), admin_id, version)
    if admin is None:
        session.clear()
        return None
    g.admin = admin
    set_principal(principal_for_admin(admin))
    if admin.must_change_password and request.endpoint not in _PASSWORD_EXEMPT and request.method in SAFE_METHODS:
        return redirect(url_for("dashboard.password"))
    if admin.must_change_password and request.endpoint not in _PASSWORD_EXEMPT:
        raise InvalidInput(_("Choose a new password first."))
    return None


def _check_csrf() -> None:
    if request.method in SAFE_METHODS:
        return
    expected = session.get("csrf")
    offered = request.form.get("csrf_token", "")
    if not expected or not hmac.compare_digest(str(expected), offered):
        raise CsrfError(_("The form has expired or did not come from Flokk. Go back, reload the page and try again."))


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def start_session(admin: Any) -> None:
    """A fresh session (new CSRF token, no fixation) for a signed-in admin."""
    language = session.get("lang")
    session.clear()
    session.permanent = True
    session["admin_id"] = admin.id
    session["version"] = sign_in.session_version(admin)
    session["issued_at"] = int(time.time())
    if language:
        session["lang"] = language


@blueprint.after_request
def _security_headers(response: Response) -> Response:
    """Pages run no scripts and are never framed (clickjacking); nothing is cached across admins."""
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@blueprint.errorhandler(FlokkError)
def _error(error: FlokkError) -> Any:
    if isinstance(error, Unauthenticated) and request.endpoint not in ("dashboard.login", "dashboard.oidc_callback"):
        if request.method in SAFE_METHODS:
            return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
        flash(_("Please sign in again."), "error")
        return redirect(url_for("dashboard.login"))
    return render_template("error.html", error=error, retry=isinstance(error, RateLimited)), error.status


def form_data(*fields: str) -> dict[str, Any]:
    """The named form fields (empty ones left out), for a marshmallow schema."""
    return {name: request.form[name].strip() for name in fields if request.form.get(name, "").strip()}


def can(permission: Permission, school_id: int | None = None, *, anywhere: bool = False) -> bool:
    principal = g.get("flokk_principal")
    if principal is None:
        return False
    return principal.can_anywhere(permission) if anywhere else principal.can(permission, school_id)


@blueprint.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {
        "csrf_token": csrf_token,
        "can": can,
        "Permission": Permission,
        "current_admin": lambda: g.get("admin"),
        "get_locale": get_locale,
        "command_label": lambda request_type: _(labels.label(request_type)),
        "status_label": lambda status: _(labels.STATUSES.get(status, status)),
        "enrollment_state_label": lambda state: _(labels.ENROLLMENT_STATES.get(state, state)),
        "approval_status_label": lambda status: _(labels.APPROVAL_STATUSES.get(status, status)),
        "group_kind_label": lambda kind: _(labels.GROUP_KINDS.get(kind, kind)),
    }


def notice(message: str) -> None:
    flash(message, "success")


def register(app: Any) -> None:
    from app.http.dashboard import accounts, auth, inventory, operations, policy, starter_pack  # noqa: F401  (routes)
    from app.http.dashboard import os_updates  # noqa: F401  (routes)

    app.register_blueprint(blueprint)
