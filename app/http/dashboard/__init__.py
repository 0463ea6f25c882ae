"""The dashboard: server-rendered pages for school ICT contacts and central IT.

A signed-in admin's session is held server-side (``admin_sessions``) and the
principal rebuilt from the database on every request, so signing out, a
removed grant or a deactivated account takes effect at once. Every
state-changing form carries a CSRF token.
Errors render as a page with the error's status, so the boundary rolls the
change back; successes redirect (or show a secret once).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, Response, flash, g, redirect, render_template, request, session, url_for
from flask_babel import format_timedelta, get_locale
from flask_babel import gettext as _

from app.errors import FlokkError, InvalidInput, RateLimited, Unauthenticated
from app.http import db_session, settings
from app.http.dashboard import labels
from app.http.rules import set_principal
from app.services.access import Permission, admin_sessions, principal_for_admin

blueprint = Blueprint("dashboard", __name__, template_folder="templates")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The session cookie's key for the server-side session's token.
SESSION_TOKEN = "sid"
#: Pages a signed-in admin may open before replacing a one-time password.
_PASSWORD_EXEMPT = frozenset({"dashboard.password", "dashboard.change_password", "dashboard.logout", "dashboard.language"})


#: Pages that answer an unauthenticated error themselves.
_SIGN_IN_PAGES = frozenset({"dashboard.login", "dashboard.sign_in_with_password", "dashboard.oidc_callback"})


class CsrfError(FlokkError):
    status = 400
    code = "csrf"


@blueprint.before_request
def _load_principal() -> Response | None:
    set_principal(None)
    g.admin = None
    _check_csrf()
    token = session.get(SESSION_TOKEN)
    if token is None:
        return None
    admin = admin_sessions.admin_for(db_session(), token)
    if admin is None:  # signed out (anywhere), expired, password changed, deactivated
        session.pop(SESSION_TOKEN, None)
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
    # Bytes: compare_digest refuses str with non-ASCII characters (a TypeError, not a refusal).
    if not expected or not hmac.compare_digest(str(expected).encode(), offered.encode("utf-8", "replace")):
        raise CsrfError(_("The form has expired or did not come from Flokk. Go back, reload the page and try again."))


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def start_session(admin: Any) -> None:
    """A fresh session for a signed-in admin: a new server-side session (``admin_sessions``),
    a new CSRF token, nothing kept from before but the language (no fixation)."""
    language = session.get("lang")
    session.clear()
    session.permanent = True
    session[SESSION_TOKEN] = admin_sessions.start(db_session(), admin, hours=settings().session_hours)
    if language:
        session["lang"] = language


def end_session() -> None:
    """Sign-out: the server-side session ends, so a copy of the cookie is worth nothing."""
    admin_sessions.end(db_session(), session.get(SESSION_TOKEN))
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def local_path(target: str | None) -> str | None:
    """``target`` when it is a path on this site (``/devices?school=x``), else None: the only
    ``next`` Flokk redirects to.

    Parsed with ``urllib``, not prefix-checked: browsers drop tabs and line breaks in
    URLs and read a backslash as ``/``, so ``/%09/evil.example`` (a tab) is ``//evil.example``
    to them; a line break in a Location header is refused by the server (a 500 before).
    """
    if not target or "\\" in target or not target.isprintable():
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))


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
    if isinstance(error, Unauthenticated) and request.endpoint not in _SIGN_IN_PAGES:
        if request.method in SAFE_METHODS:
            return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
        flash(_("Please sign in again."), "error")
        return redirect(url_for("dashboard.login"))
    g.flokk_error_page = True
    return render_template("error.html", error=error, retry=isinstance(error, RateLimited)), error.status


def form_data(*fields: str) -> dict[str, Any]:
    """The named form fields (empty ones left out), for a marshmallow schema."""
    return {name: request.form[name].strip() for name in fields if request.form.get(name, "").strip()}


def can(
    permission: Permission, school_id: int | None = None, group_id: int | None = None, *, anywhere: bool = False,
    command: str | None = None,
) -> bool:
    """For templates: the right over (an object in a group of) a school; ``command``: and to send it."""
    principal = g.get("flokk_principal")
    if principal is None:
        return False
    if anywhere:
        return principal.can_anywhere(permission)
    return principal.can(permission, school_id, group_id, command=command)


def approvals_waiting() -> int:
    """The menu's badge: approval requests waiting (once per request; never on an error page, whose
    unit of work may be the one that failed)."""
    if g.get("flokk_error_page") or g.get("flokk_principal") is None:
        return 0
    if "flokk_waiting" not in g:
        from app.services.access import approvals

        session = db_session()
        with session.no_autoflush:
            g.flokk_waiting = approvals.count_waiting(session, g.flokk_principal)
    return g.flokk_waiting


def _destructive_commands() -> frozenset[str]:
    from app.services.access import CHROMEBOOK_WIPING_COMMANDS
    from app.services.mdm.commands import DESTRUCTIVE_REQUEST_TYPES

    return DESTRUCTIVE_REQUEST_TYPES | CHROMEBOOK_WIPING_COMMANDS


def may_send(request_type: str, school_id: int, group_id: int | None) -> bool:
    """Whether to offer a command in a form: the right it needs (asking, for destructive ones) and the role's command set."""
    from app.services.access import CHROMEBOOK_WIPING_COMMANDS
    from app.services.mdm.commands import DESTRUCTIVE_REQUEST_TYPES

    destructive = DESTRUCTIVE_REQUEST_TYPES | CHROMEBOOK_WIPING_COMMANDS
    permission = Permission.REQUEST_DESTRUCTIVE if request_type in destructive else Permission.COMMAND
    return can(permission, school_id, group_id, command=request_type)


@blueprint.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {
        "csrf_token": csrf_token,
        "can": can,
        "may_send": may_send,
        "Permission": Permission,
        "current_admin": lambda: g.get("admin"),
        "get_locale": get_locale,
        "command_label": lambda request_type: _(labels.label(request_type)),
        "status_label": lambda status: _(labels.STATUSES.get(status, status)),
        "in_words": in_words,
        "approvals_waiting": approvals_waiting,
        "role_label": lambda role: _(labels.ROLES.get(str(role), str(role))),
        "destructive_commands": _destructive_commands,
        "platform_label": lambda platform: labels.PLATFORMS.get(platform, platform),
        "enrollment_state_label": lambda state: _(labels.ENROLLMENT_STATES.get(state, state)),
        # Once per page rather than once per row of a long table.
        "enrollment_state_labels": lambda: {state: _(label) for state, label in labels.ENROLLMENT_STATES.items()},
        "approval_status_label": lambda status: _(labels.APPROVAL_STATUSES.get(status, status)),
        "group_kind_label": lambda kind: _(labels.GROUP_KINDS.get(kind, kind)),
    }


def in_words(moment: Any) -> str:
    """A time relative to now in the page's language: "in 29 days", "3 hours ago"."""
    from app.models.base import utcnow

    return format_timedelta(moment - utcnow(), add_direction=True, threshold=1.1)


def notice(message: str) -> None:
    flash(message, "success")


def register(app: Any) -> None:
    from app.http.dashboard import accounts, apps, asm, auth, classes, google, inventory, operations, os_updates, policy, starter_pack, webhooks  # noqa: F401  (routes)

    app.register_blueprint(blueprint)
