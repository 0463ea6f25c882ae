"""OpenID Connect sign-in (Feide, Microsoft Entra ID) through Authlib, configured by issuer URL.

Authlib discovers the endpoints from ``<issuer>/.well-known/openid-configuration``,
keeps state and nonce in the (signed) session, and checks the ID token's
signature, issuer, audience, expiry and nonce. Flokk then derives grants from
the configured claim and from the provider's directory, read with the
sign-in's access token (``app.services.access.sso_directory``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from app.config import OidcProvider, Settings
from app.errors import NotFound, Unauthenticated


@dataclass(frozen=True)
class SignedIn:
    """The ID token's verified claims (completed from userinfo) and the access token that came with them."""

    claims: dict[str, Any]
    access_token: str | None = field(default=None, repr=False)
    expires_in: int | None = None


def install(app: Flask, settings: Settings) -> None:
    oauth = OAuth(app)
    for provider in settings.oidc_providers().values():
        oauth.register(
            provider.name,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=f"{provider.issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": provider.scopes, "timeout": 10},
        )
    app.extensions["flokk.oidc"] = oauth


def provider(settings: Settings, name: str) -> tuple[OidcProvider, Any]:
    configured = settings.oidc_providers().get(name)
    if configured is None:
        raise NotFound(f"no sign-in provider {name!r}")
    return configured, current_app.extensions["flokk.oidc"].create_client(name)


def redirect_to_provider(client: Any, redirect_uri: str) -> Any:
    try:
        return client.authorize_redirect(redirect_uri)
    except (AuthlibBaseError, OSError, ValueError) as error:
        raise Unauthenticated(f"the sign-in service cannot be reached ({type(error).__name__})") from None


def verified_claims(configured: OidcProvider, client: Any) -> SignedIn:
    """The ID token's verified claims, completed from the userinfo endpoint when the grant claim is missing
    (Feide's ID token carries only the subject: name, email and Feide id come from userinfo)."""
    try:
        token = client.authorize_access_token()
        claims = dict(token.get("userinfo") or {})
        if not claims.get("sub"):
            raise Unauthenticated("the identity provider sent no ID token")
        if configured.grant_claim not in claims and client.load_server_metadata().get("userinfo_endpoint"):
            extra = dict(client.userinfo(token=token))
            if extra.get("sub") == claims["sub"]:
                claims = {**extra, **claims}
        access_token = token.get("access_token")
        expires_in = token.get("expires_in")
        return SignedIn(claims, access_token if isinstance(access_token, str) else None,
                        expires_in if isinstance(expires_in, int) else None)
    except AuthlibBaseError as error:
        raise Unauthenticated(f"sign-in failed: {error.description or error.error}") from None
    except (OSError, ValueError) as error:
        raise Unauthenticated(f"the sign-in service did not answer properly ({type(error).__name__})") from None
