"""A small JSON-over-HTTPS GET for the directory clients (Feide's Groups API, Microsoft Graph).

The transport is injected so tests and fakes can stand in for the network; the
default one uses ``requests`` with a timeout and reads at most ``MAX_BODY``
bytes, so a misbehaving service cannot exhaust memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_BODY = 8 * 1024 * 1024


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes
    headers: Mapping[str, str]


#: (url, headers, timeout in seconds) -> answer; raises OSError when the service cannot be reached.
Transport = Callable[[str, Mapping[str, str], float], HttpAnswer]


class TooLarge(OSError):
    """The answer is larger than MAX_BODY."""


def requests_transport(url: str, headers: Mapping[str, str], timeout: float) -> HttpAnswer:
    import requests

    with requests.get(url, headers=dict(headers), timeout=timeout, stream=True, allow_redirects=False) as response:
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_BODY:
                raise TooLarge(f"the answer is larger than {MAX_BODY} bytes")
            chunks.append(chunk)
        return HttpAnswer(response.status_code, b"".join(chunks), dict(response.headers))


def parse_json(body: bytes) -> Any:
    """The JSON value of a body; ValueError when it is not JSON."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"the answer is not JSON ({type(error).__name__})") from None


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
