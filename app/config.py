"""Settings from ``FLOKK_*`` environment variables.

Every setting is declared once in ``SETTINGS`` with its default, its parser and
a line of documentation; README.md lists them (a test keeps the two in step).
An invalid value stops start-up with one line that names the setting.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PREFIX = "FLOKK_"
#: Single sign-on providers Flokk knows, by the name used in settings and URLs.
OIDC_PROVIDERS = ("feide", "entra")
SECRET_KEY_FILE = "secret_key"
MIN_SECRET_KEY_LENGTH = 32

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names it."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{PREFIX}{setting}: {reason}")
        self.setting = setting


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    parse: Callable[[str, Mapping[str, str]], Any]
    doc: str


def _path(value: str, env: Mapping[str, str]) -> Path:
    return Path(value).expanduser().absolute()


def _database_url(value: str, env: Mapping[str, str]) -> str:
    if not value:
        data_dir = _path(env.get(PREFIX + "DATA_DIR") or "data", env)
        return f"sqlite:///{data_dir / 'flokk.sqlite3'}"
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError("is not a database URL (expected sqlite:///PATH or postgresql+psycopg://...)") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"database {url.get_backend_name()!r} is not supported (use sqlite or postgresql)")
    if url.get_backend_name() == "postgresql" and url.get_driver_name() != "psycopg":
        raise ValueError("PostgreSQL URLs must use the psycopg 3 driver: postgresql+psycopg://...")
    return value


def _https_url(value: str, env: Mapping[str, str]) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"must be an https:// URL with a host name (devices only talk HTTPS), got {value!r}")
    return value.rstrip("/")


def _choice(*choices: str) -> Callable[[str, Mapping[str, str]], str]:
    def parse(value: str, env: Mapping[str, str]) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    return parse


def _positive_int(value: str, env: Mapping[str, str]) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"must be a whole number, got {value!r}") from None
    if number <= 0:
        raise ValueError(f"must be greater than zero, got {number}")
    return number


def _optional_path(value: str, env: Mapping[str, str]) -> Path | None:
    return _path(value, env) if value else None


def _networks(value: str, env: Mapping[str, str]) -> tuple[str, ...]:
    import ipaddress

    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network") from None
    return tuple(networks)


def _service_url(value: str, env: Mapping[str, str]) -> str:
    """An outside service's base URL: https, or plain http on this machine (a fake in tests)."""
    parts = urlsplit(value)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        raise ValueError(f"must be an https:// URL, got {value!r}")
    return value.rstrip("/")


def _optional_issuer(value: str, env: Mapping[str, str]) -> str | None:
    if not value:
        return None
    try:
        return _service_url(value, env)
    except ValueError:
        raise ValueError(f"must be the provider's https:// issuer URL, got {value!r}") from None


def _scopes(value: str, env: Mapping[str, str]) -> str:
    scopes = value.split()
    if "openid" not in scopes:
        raise ValueError(f"must include openid, got {value!r}")
    return " ".join(scopes)


def _optional_text(value: str, env: Mapping[str, str]) -> str | None:
    return value or None


def _secret_token(value: str, env: Mapping[str, str]) -> str | None:
    if value and len(value) < 16:
        raise ValueError("must be at least 16 characters long")
    return value or None


def _log_level(value: str, env: Mapping[str, str]) -> str:
    level = value.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"must be DEBUG, INFO, WARNING or ERROR, got {value!r}")
    return level


SETTINGS: tuple[Setting, ...] = (
    Setting("DATA_DIR", "data", _path, "Folder for the SQLite database, generated keys and TLS files."),
    Setting(
        "DATABASE_URL",
        "",
        _database_url,
        "SQLAlchemy URL; default `sqlite:///$FLOKK_DATA_DIR/flokk.sqlite3`, "
        "production `postgresql+psycopg://user:pass@host/db`.",
    ),
    Setting(
        "PUBLIC_URL",
        "https://localhost:8443",
        _https_url,
        "The https:// address devices and admins use to reach Flokk (goes into enrollment profiles).",
    ),
    Setting(
        "SECRET_KEY",
        None,
        lambda value, env: value,
        "Master key: encrypts secrets at rest and signs sessions. At least 32 characters. "
        "When unset, `flokk init`/`flokk serve` generate one into `$FLOKK_DATA_DIR/secret_key` "
        "and warn: production must set it.",
    ),
    Setting("LOG_FORMAT", "text", _choice("text", "json"), "`json` writes one JSON object per log line."),
    Setting("LOG_LEVEL", "INFO", _log_level, "DEBUG, INFO, WARNING or ERROR."),
    Setting(
        "MAX_BODY_BYTES",
        str(4 * 1024 * 1024),
        _positive_int,
        "Largest request body accepted; larger ones get 413.",
    ),
    Setting(
        "SESSION_HOURS",
        "12",
        _positive_int,
        "A dashboard sign-in lasts this many hours.",
    ),
    Setting(
        "LOGIN_MAX_FAILURES",
        "5",
        _positive_int,
        "Failed passwords for one account within `FLOKK_LOGIN_LOCKOUT_MINUTES` that lock it for that long.",
    ),
    Setting("LOGIN_LOCKOUT_MINUTES", "15", _positive_int, "Window and length of a sign-in lock-out."),
    Setting(
        "LOGIN_MAX_FAILURES_PER_SOURCE",
        "20",
        _positive_int,
        "Failed sign-ins from one address within the lock-out window before that address must wait.",
    ),
    Setting(
        "APPROVAL_BULK_THRESHOLD",
        "50",
        _positive_int,
        "A command to more devices than this at once needs a second central admin's approval.",
    ),
    Setting("APPROVAL_EXPIRY_HOURS", "72", _positive_int, "An approval request not decided within this expires."),
    Setting("CENTRAL_IT_CONTACT", "", _optional_text,
            "Who a school's ICT contact calls at central IT (printed in the starter pack), e.g. a name, phone and e-mail."),
    Setting(
        "AUDIT_RETENTION_DAYS",
        "1825",
        _positive_int,
        "Audit events older than this are deleted by the scheduler (the only deletion the database allows).",
    ),
    Setting(
        "COMMAND_RETENTION_DAYS",
        "90",
        _positive_int,
        "Finished MDM commands (answered, failed, expired, cancelled) older than this are deleted with their "
        "results by the scheduler; the audit log keeps who sent what.",
    ),
    Setting("API_TOKEN_DAYS", "90", _positive_int, "Default lifetime of a new API token."),
    *(
        setting
        for provider, label, claim, scopes in (
            ("FEIDE", "Feide", "groups", "openid profile email userid-feide groups-org groups-edu groups-memberids"),
            ("ENTRA", "Microsoft Entra ID", "groups", "openid profile email GroupMember.Read.All"),
        )
        for setting in (
            Setting(
                f"OIDC_{provider}_ISSUER",
                "",
                _optional_issuer,
                f"{label} OpenID Connect issuer URL; sign-in with {label} is offered when this, "
                f"`FLOKK_OIDC_{provider}_CLIENT_ID` and `FLOKK_OIDC_{provider}_CLIENT_SECRET` are set.",
            ),
            Setting(f"OIDC_{provider}_CLIENT_ID", "", _optional_text, f"{label} client id."),
            Setting(f"OIDC_{provider}_CLIENT_SECRET", "", _optional_text, f"{label} client secret (never logged)."),
            Setting(
                f"OIDC_{provider}_GRANT_CLAIM",
                claim,
                lambda value, env: value,
                f"The {label} claim whose values are matched against single sign-on grant rules.",
            ),
            Setting(
                f"OIDC_{provider}_SCOPES",
                scopes,
                _scopes,
                f"Scopes Flokk asks {label} for at sign-in (space-separated).",
            ),
        )
    ),
    Setting(
        "OIDC_FEIDE_GROUPS_URL",
        "https://groups-api.dataporten.no/groups",
        _service_url,
        "Feide's Groups API, read at every Feide sign-in for the person's schools, teaching groups and affiliation.",
    ),
    Setting(
        "OIDC_ENTRA_GRAPH_URL",
        "https://graph.microsoft.com",
        _service_url,
        "Microsoft Graph, read at an Entra ID sign-in whose token says the person has too many groups to list.",
    ),
    Setting(
        "ROSTER_EXPORT_DIR",
        "",
        _optional_path,
        "Folder where schools' administrative systems drop class exports (`<school code>.csv`); the scheduler "
        "imports a changed file every hour. Empty: off.",
    ),
    Setting("TLS_CERT", "", _optional_path, "PEM certificate for `flokk serve`; default: self-signed, generated."),
    Setting("TLS_KEY", "", _optional_path, "PEM private key for `FLOKK_TLS_CERT`."),
    Setting(
        "APNS_URL",
        "https://api.push.apple.com",
        _https_url,
        "Apple's push service (APNs) that wakes iPads; only tests and benchmarks point it elsewhere.",
    ),
    Setting(
        "APNS_CA_FILE",
        "",
        _optional_path,
        "PEM CA bundle to trust for `FLOKK_APNS_URL` instead of the system's (a fake APNs in tests).",
    ),
    Setting(
        "APPS_URL",
        "https://vpp.itunes.apple.com/mdm/v2",
        _https_url,
        "Apple's Apps and Books API (v2) for app licences; only tests and benchmarks point it elsewhere "
        "(trusting `SSL_CERT_FILE` when set).",
    ),
    Setting(
        "APPS_LOOKUP_URL",
        "https://uclient-api.itunes.apple.com/WebObjects/MZStorePlatform.woa/wa/lookup",
        _https_url,
        "Apple's app metadata lookup (names, icons, bundle ids of Apps and Books apps).",
    ),
    Setting(
        "ASM_URL",
        "https://mdmenrollment.apple.com",
        _https_url,
        "Apple's device enrollment service (Apple School Manager, Automated Device Enrollment); only tests and "
        "benchmarks point it elsewhere. Its HTTPS certificate is checked like APNs' (`FLOKK_APNS_CA_FILE`, else the "
        "system's trust store, which honours `SSL_CERT_FILE`).",
    ),
    Setting(
        "ASM_DEVICE_CA",
        "",
        _optional_path,
        "PEM file of the certificates an iPad's signed MachineInfo must chain to in Setup Assistant; "
        "default: Apple's device CA chain shipped with Flokk.",
    ),
    Setting("ASM_SYNC_MINUTES", "30", _positive_int, "The scheduler syncs each Apple School Manager token this often."),
    Setting(
        "METRICS_TOKEN",
        "",
        _secret_token,
        "Bearer token Prometheus sends to `GET /metrics` (16+ characters); unset: `/metrics` is refused.",
    ),
    Setting(
        "GOOGLE_ADMIN_URL",
        "https://admin.googleapis.com",
        _https_url,
        "Google's Admin SDK (Directory API) for Chromebooks; only tests and benchmarks point it elsewhere. "
        "HTTPS trusts the system's CAs or `SSL_CERT_FILE`.",
    ),
    Setting(
        "GOOGLE_POLICY_URL",
        "https://chromepolicy.googleapis.com",
        _https_url,
        "Google's Chrome Policy API; only tests and benchmarks point it elsewhere.",
    ),
    Setting(
        "TRUSTED_PROXIES",
        "",
        _networks,
        "Comma-separated addresses/networks of TLS-terminating proxies whose RFC 9440 `Client-Cert` header "
        "names the device and whose `X-Forwarded-For`/`X-Forwarded-Proto` name the client's address and scheme "
        "(rate limit, audit log, HSTS); empty: devices must sign with `Mdm-Signature`, the peer is the client.",
    ),
)


@dataclass(frozen=True)
class OidcProvider:
    name: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    grant_claim: str = "groups"
    scopes: str = "openid email profile"


@dataclass(frozen=True)
class Settings:
    """Validated settings; build with ``load_settings``."""

    data_dir: Path
    database_url: str
    public_url: str
    secret_key: str
    log_format: str = "text"
    log_level: str = "INFO"
    max_body_bytes: int = 4 * 1024 * 1024
    tls_cert: Path | None = None
    tls_key: Path | None = None
    apns_url: str = "https://api.push.apple.com"
    apns_ca_file: Path | None = None
    google_admin_url: str = "https://admin.googleapis.com"
    google_policy_url: str = "https://chromepolicy.googleapis.com"
    trusted_proxies: tuple[str, ...] = ()
    apps_url: str = "https://vpp.itunes.apple.com/mdm/v2"
    apps_lookup_url: str = "https://uclient-api.itunes.apple.com/WebObjects/MZStorePlatform.woa/wa/lookup"
    asm_url: str = "https://mdmenrollment.apple.com"
    asm_device_ca: Path | None = None
    asm_sync_minutes: int = 30
    metrics_token: str | None = field(default=None, repr=False)
    session_hours: int = 12
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    login_max_failures_per_source: int = 20
    approval_bulk_threshold: int = 50
    approval_expiry_hours: int = 72
    central_it_contact: str | None = None
    audit_retention_days: int = 1825
    command_retention_days: int = 90
    api_token_days: int = 90
    oidc_feide_issuer: str | None = None
    oidc_feide_client_id: str | None = None
    oidc_feide_client_secret: str | None = field(default=None, repr=False)
    oidc_feide_grant_claim: str = "groups"
    oidc_feide_scopes: str = "openid profile email userid-feide groups-org groups-edu groups-memberids"
    oidc_feide_groups_url: str = "https://groups-api.dataporten.no/groups"
    oidc_entra_issuer: str | None = None
    oidc_entra_client_id: str | None = None
    oidc_entra_client_secret: str | None = field(default=None, repr=False)
    oidc_entra_grant_claim: str = "groups"
    oidc_entra_scopes: str = "openid profile email GroupMember.Read.All"
    oidc_entra_graph_url: str = "https://graph.microsoft.com"
    roster_export_dir: Path | None = None
    secret_key_generated: bool = field(default=False, compare=False)

    def oidc_providers(self) -> dict[str, OidcProvider]:
        """The configured single sign-on providers, by name."""
        found = {}
        for name in OIDC_PROVIDERS:
            issuer = getattr(self, f"oidc_{name}_issuer")
            if issuer:
                found[name] = OidcProvider(
                    name=name,
                    issuer=issuer,
                    client_id=getattr(self, f"oidc_{name}_client_id"),
                    client_secret=getattr(self, f"oidc_{name}_client_secret"),
                    grant_claim=getattr(self, f"oidc_{name}_grant_claim"),
                    scopes=getattr(self, f"oidc_{name}_scopes"),
                )
        return found

    def replace(self, **changes: Any) -> Settings:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update(changes)
        return Settings(**values)


def load_settings(env: Mapping[str, str] | None = None, *, create_secret: bool = False) -> Settings:
    """Read and validate every setting; raise ``ConfigError`` naming the first bad one.

    ``create_secret`` lets the commands that start a local Flokk (``init``,
    ``serve``) generate a secret key into the data folder when none is set.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = env.get(PREFIX + setting.name)
        raw = setting.default if raw is None else raw.strip()
        if raw is None:
            continue
        try:
            values[setting.name.lower()] = setting.parse(raw, env)
        except ValueError as error:
            raise ConfigError(setting.name, str(error)) from None
    values["secret_key"], values["secret_key_generated"] = _secret_key(
        values.get("secret_key"), values["data_dir"], create_secret
    )
    if bool(values.get("tls_cert")) != bool(values.get("tls_key")):
        raise ConfigError("TLS_KEY", "FLOKK_TLS_CERT and FLOKK_TLS_KEY must be set together")
    for provider in OIDC_PROVIDERS:
        parts = [values.get(f"oidc_{provider}_{part}") for part in ("issuer", "client_id", "client_secret")]
        if any(parts) and not all(parts):
            name = provider.upper()
            raise ConfigError(
                f"OIDC_{name}_ISSUER",
                f"FLOKK_OIDC_{name}_ISSUER, FLOKK_OIDC_{name}_CLIENT_ID and FLOKK_OIDC_{name}_CLIENT_SECRET must be set together",
            )
    return Settings(**values)


def _secret_key(value: str | None, data_dir: Path, create: bool) -> tuple[str, bool]:
    if value:
        if len(value) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError("SECRET_KEY", f"must be at least {MIN_SECRET_KEY_LENGTH} characters long")
        return value, False
    path = data_dir / SECRET_KEY_FILE
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError("SECRET_KEY", f"the generated key in {path} is damaged; restore it or set the variable")
        return key, True
    if not create:
        raise ConfigError("SECRET_KEY", f"is not set (and no generated key exists in {path})")
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key, True


def warn_if_generated_secret(settings: Settings) -> None:
    if settings.secret_key_generated:
        log.warning(
            "FLOKK_SECRET_KEY is not set: using the generated key in %s. "
            "Production must set FLOKK_SECRET_KEY (and keep it: it decrypts the CA key).",
            settings.data_dir / SECRET_KEY_FILE,
        )
