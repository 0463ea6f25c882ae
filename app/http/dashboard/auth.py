"""Signing in and out, changing one's password, choosing the language."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from app import request_context
from app.errors import InvalidInput, RateLimited, Unauthenticated
from app.http import db_session, settings
from app.http.dashboard import blueprint, end_session, local_path, notice, oidc, start_session
from app.http.rules import current_principal, public_endpoint, signed_in
from app.schemas import load
from app.schemas.admin import PasswordChange, SignInForm
from app.services import audit
from app.services.access import accounts, sign_in, sso_directory
from app.services.rosters import feide_import

LANGUAGES = ("nb", "en")


def _providers() -> list[str]:
    return list(settings().oidc_providers())


def _after_sign_in() -> str:
    return url_for("dashboard.index")


# GET (and HEAD, which Flask answers with the GET view) and POST are separate views: one view
# for both treated every method that was not GET as a sign-in, HEAD included, without CSRF.
@blueprint.get("/login")
@public_endpoint
def login():
    if g.admin is not None:
        return redirect(local_path(request.args.get("next")) or _after_sign_in())
    return render_template("login.html", providers=_providers(), next=request.args.get("next", ""),
                           signed_out=bool(request.args.get("signed_out")))


@blueprint.post("/login")
@public_endpoint
def sign_in_with_password():
    email = request.form.get("email", "")
    try:
        data = load(SignInForm(), {"email": email, "password": request.form.get("password", "")})
        admin = sign_in.password_sign_in(db_session(), settings(), data["email"], data["password"],
                                         request_context.current().source)
    except (InvalidInput, Unauthenticated, RateLimited) as error:
        return render_template("login.html", providers=_providers(), error=str(error), email=email,
                               next=request.form.get("next", "")), error.status
    start_session(admin)
    if admin.must_change_password:
        return redirect(url_for("dashboard.password"))
    return redirect(local_path(request.form.get("next")) or _after_sign_in())


@blueprint.get("/login/<provider>")
@public_endpoint
def oidc_start(provider: str):
    _, client = oidc.provider(settings(), provider)
    try:
        return oidc.redirect_to_provider(client, settings().public_url + url_for("dashboard.oidc_callback", provider=provider))
    except Unauthenticated as error:
        # Said on the sign-in page: a silent return to it looks like nothing happened.
        return render_template("login.html", providers=_providers(), error=error.message), 503


@blueprint.get("/login/<provider>/callback")
@public_endpoint
def oidc_callback(provider: str):
    configured, client = oidc.provider(settings(), provider)
    try:
        signed = oidc.verified_claims(configured, client)
    except Unauthenticated as error:
        return render_template("login.html", providers=_providers(), error=error.message), 401
    directory = sso_directory.read(settings(), configured, signed.access_token, signed.claims)
    outcome = sign_in.sso_sign_in(db_session(), configured, signed.claims, directory)
    if outcome.admin is None:
        # A redirect (not an error status) so that removing stale grants is committed.
        session.clear()
        session["login_error"] = outcome.message
        return redirect(url_for("dashboard.login_refused"))
    start_session(outcome.admin)
    if configured.name == "feide" and signed.access_token and directory.error is None:
        # Kept sealed for this session only: the ICT contact's own view of the Groups API (classes import).
        session[feide_import.SESSION_KEY] = feide_import.seal_token(db_session(), signed.access_token, signed.expires_in)
    if outcome.warning:
        flash(outcome.warning, "error")
    return redirect(url_for("dashboard.index"))


@blueprint.get("/login/refused")
@public_endpoint
def login_refused():
    message = session.pop("login_error", None) or _("Sign-in was refused.")
    return render_template("login.html", providers=_providers(), error=message), 403


@blueprint.post("/logout")
@signed_in
def logout():
    audit.record(db_session(), current_principal(), "auth.logout")
    end_session()
    return redirect(url_for("dashboard.login", signed_out=1))


@blueprint.get("/password")
@signed_in
def password():
    return render_template("password.html", forced=g.admin is not None and g.admin.must_change_password)


@blueprint.post("/password")
@signed_in
def change_password():
    data = load(PasswordChange(), {key: request.form.get(key, "") for key in ("current_password", "new_password")})
    if request.form.get("new_password") != request.form.get("repeat_password"):
        raise InvalidInput(_("The two new passwords differ."))
    admin = accounts.change_own_password(db_session(), current_principal(), data["current_password"], data["new_password"])
    start_session(admin)  # every other session of the admin has ended
    notice(_("Your password is changed."))
    return redirect(url_for("dashboard.index"))


@blueprint.post("/language")
@public_endpoint
def language():
    chosen = request.form.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    return redirect(local_path(request.form.get("next")) or _after_sign_in())


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "nb"
