"""Apple's Apps and Books for Organizations: content tokens, the licence API, metadata, notifications.

No Flask, no SQLAlchemy: ``token`` reads the ``.vpptoken`` file, ``client``
speaks the v2 API (``vpp.itunes.apple.com/mdm/v2``), ``metadata`` the
content metadata lookup, ``notifications`` what Apple posts to the MDM.
The application owns the state (``app.services.apps``).
"""

from mdm_protocol.apps_and_books.client import (
    AppsAndBooksClient,
    AppsAndBooksError,
    Asset,
    Assignment,
    ClientConfig,
    Event,
    EventStatus,
    InvalidToken,
    MdmInfo,
    NotEnoughLicences,
    RequestRefused,
    ServiceConfig,
    ServiceUnavailable,
    TokenExpired,
    TokenRevoked,
)
from mdm_protocol.apps_and_books.metadata import AppMetadata, MetadataLookup
from mdm_protocol.apps_and_books.token import ContentToken, TokenFileError, parse_token

__all__ = [
    "AppMetadata",
    "AppsAndBooksClient",
    "AppsAndBooksError",
    "Asset",
    "Assignment",
    "ClientConfig",
    "ContentToken",
    "Event",
    "EventStatus",
    "InvalidToken",
    "MdmInfo",
    "MetadataLookup",
    "NotEnoughLicences",
    "RequestRefused",
    "ServiceConfig",
    "ServiceUnavailable",
    "TokenExpired",
    "TokenFileError",
    "TokenRevoked",
    "parse_token",
]
