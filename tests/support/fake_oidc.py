"""A local OpenID Connect provider for tests: discovery, authorize, token, JWKS and userinfo on 127.0.0.1.

It plays Feide or Entra ID: ``/authorize`` signs the configured person in at
once and redirects back with a code; ``/token`` answers with an RS256 ID token
carrying the nonce the client sent, and an access token remembered with the
person and the scopes asked for (``access_tokens``), so the provider's own APIs
(``tests/fakes/feide.py``, ``tests/fakes/entra.py``) can check it. Claims are
set per test in ``person``; ``id_token_claims`` (when set) limits the ID token
to those claims, the rest coming from userinfo as with Feide.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

from joserfc import jwk, jwt
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class FakeProvider:
    def __init__(self, client_id: str = "flokk-test", client_secret: str = "s3cret") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.key = jwk.RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.person: dict[str, Any] = {"sub": "person-1", "email": "kari@nordby.no", "email_verified": True}
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_requests = 0
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.id_token_claims: tuple[str, ...] | None = None
        self.token_lifetime = 300
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def _json(self, body: dict[str, Any], status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")

    def route(self, request: Request) -> Response | None:
        """The provider's own APIs, for subclasses; None: not one of theirs."""
        return None

    def token_claims(self, person: dict[str, Any]) -> dict[str, Any]:
        """Claims the ID token adds for this person, for subclasses (Entra's groups or overage)."""
        return {}

    def bearer(self, request: Request) -> dict[str, Any] | None:
        """The access token's record (person, scopes), or None when it is unknown or expired."""
        header = request.headers.get("Authorization", "")
        record = self.access_tokens.get(header[7:]) if header.startswith("Bearer ") else None
        if record is None or record["expires"] < time.time():
            return None
        return record

    @Request.application
    def _app(self, request: Request) -> Response:
        extra = self.route(request)
        if extra is not None:
            return extra
        if request.path == "/.well-known/openid-configuration":
            return self._json({
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            })
        if request.path == "/jwks":
            return self._json({"keys": [self.key.as_dict(private=False)]})
        if request.path == "/authorize":
            args = request.args
            if args.get("client_id") != self.client_id or args.get("response_type") != "code":
                return Response("bad authorize request", status=400)
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"nonce": args.get("nonce"), "redirect_uri": args["redirect_uri"],
                                "scope": args.get("scope", "").split()}
            location = args["redirect_uri"] + "?" + urlencode({"code": code, "state": args.get("state", "")})
            return Response(status=302, headers={"Location": location})
        if request.path == "/token":
            self.token_requests += 1
            if not self._client_authenticated(request):
                return self._json({"error": "invalid_client"}, 401)
            grant = self.codes.pop(request.form.get("code", ""), None)
            if grant is None or grant["redirect_uri"] != request.form.get("redirect_uri"):
                return self._json({"error": "invalid_grant"}, 400)
            now = int(time.time())
            person = dict(self.person)
            shown = person if self.id_token_claims is None else {k: v for k, v in person.items() if k in self.id_token_claims}
            claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300,
                      "nonce": grant["nonce"], **shown, **self.token_claims(person)}
            id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)
            access_token = "at-" + secrets.token_hex(16)
            self.access_tokens[access_token] = {"person": person, "scope": grant["scope"],
                                                "expires": time.time() + self.token_lifetime}
            return self._json({"access_token": access_token, "token_type": "Bearer",
                               "expires_in": self.token_lifetime, "id_token": id_token})
        if request.path == "/userinfo":
            record = self.bearer(request)
            if record is None:
                return self._json({"error": "invalid_token"}, 401)
            return self._json(record["person"])
        return Response("not found", status=404)

    def _client_authenticated(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return (user, password) == (self.client_id, self.client_secret)
        return (request.form.get("client_id"), request.form.get("client_secret")) == (self.client_id, self.client_secret)
